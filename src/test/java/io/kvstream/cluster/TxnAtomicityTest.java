package io.kvstream.cluster;

import java.net.URI;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvstream.config.Settings;
import io.kvstream.testing.TestDeployment;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TxnHttp;
import io.kvstream.wire.Json;
import io.kvstream.ws.KvHttp;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;

/**
 * No read on any replica sees a part of a transaction: a writer moves amounts between two keys in two-key
 * transactions (a + b = 100 always, both values tagged with the transaction's sequence number), while readers on both
 * API processes list the two keys and read them one by one. A listing must show both from the same transaction;
 * a read of one key after a read of the other must not show an older transaction than the first read did.
 */
class TxnAtomicityTest {
    private static final int TRANSACTIONS = 300;
    private static final String A = "atom-a";
    private static final String B = "atom-b";

    @Test
    void noListingOrGetOnAnyReplicaSeesPartOfATransaction() throws Exception {
        TestDeployment deployment = TestDeployment.fresh("atom");
        try (TestNode worker = deployment.start(Settings.Role.WORKER);
             TestNode api1 = deployment.start(Settings.Role.API);
             TestNode api2 = deployment.start(Settings.Role.API)) {
            long seeded = TxnHttp.txn(api1.port(), move(50, 0)).path("revision").asLong();
            // api1's 200 says nothing of api2: until it has the keys too, its readers would find neither
            await().atMost(Duration.ofSeconds(20)).until(() -> api2.revision() >= seeded);
            AtomicBoolean writing = new AtomicBoolean(true);
            List<String> violations = new CopyOnWriteArrayList<>();
            AtomicLong reads = new AtomicLong();
            List<Thread> readers = new ArrayList<>();
            for (TestNode api : List.of(api1, api2)) {
                readers.add(reader(() -> readListings(api, writing, violations, reads), violations));
                readers.add(reader(() -> readOneByOne(api, writing, violations, reads), violations));
            }

            for (int i = 1; i <= TRANSACTIONS; i++) {
                TxnHttp.txn((i % 2 == 0 ? api1 : api2).port(), move((i * 37) % 101, i));
            }
            writing.set(false);
            for (Thread reader : readers) {
                reader.join();
            }

            assertThat(violations.toString(), violations.size(), is(0));
            assertThat(reads.get(), greaterThan((long) TRANSACTIONS));
        }
    }

    /** A reader that fails counts as a violation, not as a thread that silently stopped reading. */
    private static Thread reader(Runnable reads, List<String> violations) {
        return Thread.ofVirtual().start(() -> {
            try {
                reads.run();
            } catch (RuntimeException | AssertionError e) {
                violations.add("a reader failed: " + e);
            }
        });
    }

    /** The transaction with sequence number {@code seq}: a = amount, b = 100 - amount. */
    private static String move(int amount, int seq) {
        return "{\"success\":[" + TxnHttp.put(A, amount + ":" + seq) + "," + TxnHttp.put(B, (100 - amount) + ":" + seq)
               + "]}";
    }

    private static void readListings(TestNode api, AtomicBoolean writing, List<String> violations, AtomicLong reads) {
        URI listing = api.uri("/values?prefix=atom-");
        while (writing.get()) {
            JsonNode values = Json.read(KvHttp.get(listing).body(), JsonNode.class).path("values");
            Map<String, String> both = Map.of(values.path(0).path("key").asText(), values.path(0).path("value").asText(),
                                              values.path(1).path("key").asText(), values.path(1).path("value").asText());
            int[] a = parse(both.get(A));
            int[] b = parse(both.get(B));
            if (values.size() != 2 || a[0] + b[0] != 100 || a[1] != b[1]) {
                violations.add(api.port() + " listed " + values);
            }
            reads.incrementAndGet();
        }
    }

    private static void readOneByOne(TestNode api, AtomicBoolean writing, List<String> violations, AtomicLong reads) {
        boolean aFirst = true;
        while (writing.get()) {
            String first = aFirst ? A : B;
            String second = aFirst ? B : A;
            int seenFirst = parse(value(api, first))[1];
            int seenSecond = parse(value(api, second))[1];
            if (seenSecond < seenFirst) {
                violations.add(api.port() + " read " + first + " of txn " + seenFirst + ", then " + second
                               + " of the older txn " + seenSecond);
            }
            reads.incrementAndGet();
            aFirst = !aFirst;
        }
    }

    private static String value(TestNode api, String key) {
        HttpResponse<String> response = KvHttp.get(api.uri("/values/" + key));
        return response.statusCode() == 200 ? Json.read(response.body(), JsonNode.class).path("value").asText() : null;
    }

    /** {@code "37:12"} → amount 37 of transaction 12. */
    private static int[] parse(String value) {
        if (value == null) {
            return new int[] {-1000, -1};
        }
        String[] parts = value.split(":");
        return new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1])};
    }
}
