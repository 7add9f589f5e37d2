package io.kvstream.cluster;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.LongStream;

import io.kvstream.config.Settings;
import io.kvstream.testing.ExpiryTools;
import io.kvstream.testing.StoredContent;
import io.kvstream.testing.TestDeployment;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.WsClient;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;

/**
 * Expiring keys across processes against one PostgreSQL schema and one broker: with two workers each deadline is
 * expired once, in the one gap-free order of revisions; a deadline that passes while no worker runs is expired by the
 * next worker, and reads answer 404 from the deadline on even though no expiry event could arrive; many keys due at
 * once all go while writes to other keys keep being answered.
 */
class KeyExpiryClusterTest {
    private static final int KEYS = 200;

    @Test
    void twoWorkersExpireEachKeyOnceInOneGapFreeOrder() {
        TestDeployment deployment = TestDeployment.fresh("ttl2w");
        Settings.Db db = TestServices.db(deployment.schema());
        try (TestNode worker1 = deployment.start(Settings.Role.WORKER);
             TestNode worker2 = deployment.start(Settings.Role.WORKER);
             TestNode api = deployment.start(Settings.Role.API)) {
            List<String> keys = IntStream.range(0, 50).mapToObj(i -> "k" + i).toList();
            keys.parallelStream().forEach(key -> assertThat(ExpiryTools.put(api.port(), key, "ttl=1", "v")
                                                                    .statusCode(), is(200)));

            await().until(() -> ExpiryTools.expiries(db).size() == keys.size());

            StoredContent stored = StoredContent.read(db);
            assertThat(ExpiryTools.expiries(db), is(keys.stream().collect(Collectors.toMap(Function.identity(),
                                                                                           key -> 1))));
            assertThat(stored.revision(), is(2L * keys.size()));
            assertThat(stored.eventRevisions(), is(LongStream.rangeClosed(1, stored.revision()).boxed().toList()));
            assertThat(stored.values(), is(Map.of()));
            await().until(() -> api.revision() == stored.revision());
            assertThat(api.contents(), is(Map.of()));
        }
    }

    /**
     * The worker stops before the deadline, so no expiry event can be issued: the API process answers 404 and leaves
     * the key out of listings from the deadline on, while its replica and the database still hold the value. A
     * worker started afterwards expires it, once.
     */
    @Test
    void aDeadlinePassedWhileNoWorkerRanReadsAs404AndTheNextWorkerExpiresIt() {
        TestDeployment deployment = TestDeployment.fresh("ttlrs");
        Settings.Db db = TestServices.db(deployment.schema());
        Settings workerSettings = deployment.settings(Settings.Role.WORKER);
        try (TestNode api = deployment.start(Settings.Role.API)) {
            long put;
            try (TestNode worker = TestNode.start(workerSettings)) {
                put = WsClient.node(ExpiryTools.put(api.port(), "held", "ttl=3", "v").body()).path("revision").asLong();
                ExpiryTools.put(api.port(), "other", "", "permanent");
            }

            await().until(() -> ExpiryTools.get(api.port(), "/values/held").statusCode() == 404);

            // No expiry has been issued: the deadline alone hides the value.
            assertThat(ExpiryTools.expiries(db), is(Map.of()));
            assertThat(ExpiryTools.keysWithDeadline(db), is(1));
            assertThat(api.revision(), is(put + 1));
            assertThat(api.contents().keySet(), is(java.util.Set.of("other")));

            try (TestNode worker = TestNode.start(workerSettings)) {
                await().until(() -> ExpiryTools.expiries(db).equals(Map.of("held", 1)));
                await().until(() -> api.revision() == put + 2);
            }
            assertThat(ExpiryTools.keysWithDeadline(db), is(0));
            assertThat(StoredContent.read(db).eventRevisions(), is(List.of(put, put + 1, put + 2)));
        }
    }

    @Test
    void manyKeysDueAtOnceAllGoWhileWritesToOtherKeysAreAnswered() {
        TestDeployment deployment = TestDeployment.fresh("ttlmany");
        Settings.Db db = TestServices.db(deployment.schema());
        try (TestNode worker = deployment.start(Settings.Role.WORKER);
             TestNode api = deployment.start(Settings.Role.API)) {
            // Enqueued together, so they commit in a few batches with nearly the same deadline.
            IntStream.range(0, KEYS).parallel().forEach(i -> assertThat(
                    ExpiryTools.putAsync(api.port(), "due" + i, "ttl=2", "v").statusCode(), is(202)));
            AtomicBoolean expiring = new AtomicBoolean(true);
            AtomicLong answered = new AtomicLong();
            AtomicLong refused = new AtomicLong();
            Thread writer = Thread.ofVirtual().start(() -> {
                for (int i = 0; expiring.get(); i++) {
                    HttpResponse<String> put = ExpiryTools.put(api.port(), "steady" + (i % 10), "", "v" + i);
                    (put.statusCode() == 200 ? answered : refused).incrementAndGet();
                }
            });

            await().until(() -> ExpiryTools.expiries(db).size() == KEYS);
            await().until(() -> ExpiryTools.get(api.port(), "/values?prefix=due").body().contains("\"values\":[]"));
            expiring.set(false);
            await().until(() -> !writer.isAlive());

            assertThat(ExpiryTools.keysWithDeadline(db), is(0));
            assertThat(answered.get(), greaterThan(0L));
            assertThat(refused.get(), is(0L));
            assertThat(ExpiryTools.expiries(db).values().stream().allMatch(count -> count == 1), is(true));
        }
    }
}
