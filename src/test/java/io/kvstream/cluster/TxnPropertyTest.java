package io.kvstream.cluster;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvstream.config.Settings;
import io.kvstream.domain.Entry;
import io.kvstream.testing.TestDeployment;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TxnHttp;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * Random transactions from several concurrent clients, through two API processes and a worker, against a model: the
 * answers, ordered by the revision each was decided at, replay on a plain map as one serial order in which every
 * answer (which branch, each change's revision, the revision after) is what the model says, with no revision
 * missing; both replicas end equal to the model.
 */
class TxnPropertyTest {
    private static final int KEYS = 4;
    private static TestNode worker;
    private static TestNode api1;
    private static TestNode api2;

    /** What a compare expects of its key: absent, the revision the client last saw, or one it never saw. */
    enum Expect { ABSENT, LAST_SEEN, STALE }

    record Compare(int key, Expect expect) {
    }

    record Change(int key, boolean put) {
    }

    record Spec(List<Compare> compare, List<Change> success, List<Change> failure) {
    }

    /** A transaction as sent: compares with their revisions, changes with their values (null: delete). */
    record Sent(Map<String, Long> compare, List<Map.Entry<String, String>> success,
                List<Map.Entry<String, String>> failure, JsonNode answer) {
        long changes() {
            int count = 0;
            for (JsonNode result : answer.path("results")) {
                count += result.has("revision") ? 1 : 0;
            }
            return count;
        }

        /** The revision whose state the compares were read at. */
        long decidedAt() {
            return answer.path("revision").asLong() - changes();
        }
    }

    @BeforeContainer
    static void start() {
        TestDeployment deployment = TestDeployment.fresh("txnprop");
        worker = deployment.start(Settings.Role.WORKER);
        api1 = deployment.start(Settings.Role.API);
        api2 = deployment.start(Settings.Role.API);
    }

    @AfterContainer
    static void stop() {
        api2.close();
        api1.close();
        worker.close();
    }

    @Provide
    Arbitrary<List<List<Spec>>> clients() {
        Arbitrary<Integer> key = Arbitraries.integers().between(0, KEYS - 1);
        Arbitrary<List<Compare>> compares = Combinators.combine(key, Arbitraries.of(Expect.class)).as(Compare::new)
                .list().ofMaxSize(2);
        Arbitrary<List<Change>> changes = Combinators.combine(key, Arbitraries.of(true, false)).as(Change::new)
                .list().ofMaxSize(3).uniqueElements(Change::key);
        Arbitrary<Spec> spec = Combinators.combine(compares, changes, changes).as(Spec::new);
        return spec.list().ofMinSize(1).ofMaxSize(6).list().ofMinSize(2).ofMaxSize(4);
    }

    @Property(tries = 12)
    void concurrentTransactionsAnswerAsOneSerialOrderAndEndInItsState(@ForAll("clients") List<List<Spec>> clients)
            throws InterruptedException {
        String prefix = "p" + UUID.randomUUID() + "-";
        await().until(() -> api1.revision() == api2.revision());
        long baseline = api1.revision();
        Map<String, Long> lastSeen = new ConcurrentHashMap<>();
        List<Sent> sent = new CopyOnWriteArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients.size(); c++) {
            int client = c;
            TestNode api = client % 2 == 0 ? api1 : api2;
            threads.add(Thread.ofVirtual().start(() -> {
                for (int i = 0; i < clients.get(client).size(); i++) {
                    sent.add(send(api, prefix, clients.get(client).get(i), "c" + client + "-" + i, lastSeen));
                }
            }));
        }
        for (Thread thread : threads) {
            thread.join();
        }

        Map<String, Entry> model = new TreeMap<>();
        long revision = baseline;
        List<Sent> inOrder = sent.stream()
                .sorted(Comparator.comparingLong(Sent::decidedAt).thenComparingLong(Sent::changes)).toList();
        for (Sent txn : inOrder) {
            assertThat("decided at the model's revision: " + txn, txn.decidedAt(), is(revision));
            boolean holds = txn.compare().entrySet().stream().allMatch(
                    c -> c.getValue() == (model.containsKey(c.getKey()) ? model.get(c.getKey()).modRevision() : 0));
            assertThat("succeeded: " + txn, txn.answer().path("succeeded").asBoolean(), is(holds));
            List<String> results = new ArrayList<>();
            for (Map.Entry<String, String> change : holds ? txn.success() : txn.failure()) {
                String key = TxnHttp.quote(change.getKey());
                if (change.getValue() != null) {
                    model.put(change.getKey(), new Entry(change.getValue(), ++revision));
                    results.add("{\"key\":" + key + ",\"revision\":" + revision + "}");
                } else if (model.remove(change.getKey()) != null) {
                    results.add("{\"key\":" + key + ",\"message\":\"1\",\"revision\":" + (++revision) + "}");
                } else {
                    results.add("{\"key\":" + key + ",\"message\":\"0\"}");
                }
            }
            assertThat("results: " + txn, txn.answer().path("results").toString(),
                       is(results.stream().collect(Collectors.joining(",", "[", "]"))));
            assertThat("revision: " + txn, txn.answer().path("revision").asLong(), is(revision));
        }
        for (TestNode api : List.of(api1, api2)) {
            long last = revision;
            await().until(() -> api.revision() == last);
            Map<String, Entry> served = new TreeMap<>(api.contents());
            served.keySet().removeIf(key -> !key.startsWith(prefix));
            assertThat(served, is(model));
        }
    }

    private static Sent send(TestNode api, String prefix, Spec spec, String value, Map<String, Long> lastSeen) {
        Map<String, Long> compare = new TreeMap<>();
        for (Compare c : spec.compare()) {
            String key = prefix + c.key();
            long seen = lastSeen.getOrDefault(key, 0L);
            compare.put(key, switch (c.expect()) {
                case ABSENT -> 0L;
                case LAST_SEEN -> seen;
                case STALE -> seen + 1000;
            });
        }
        List<Map.Entry<String, String>> success = changes(prefix, spec.success(), value + "-s");
        List<Map.Entry<String, String>> failure = changes(prefix, spec.failure(), value + "-f");
        String body = "{\"compare\":" + compare.entrySet().stream().map(c -> TxnHttp.compare(c.getKey(), c.getValue()))
                .collect(Collectors.joining(",", "[", "]"))
                      + ",\"success\":" + json(success) + ",\"failure\":" + json(failure) + "}";
        JsonNode answer = TxnHttp.txn(api.port(), body);
        for (JsonNode result : answer.path("results")) {
            lastSeen.put(result.path("key").asText(), result.has("message") ? 0L : result.path("revision").asLong());
        }
        return new Sent(compare, success, failure, answer);
    }

    private static List<Map.Entry<String, String>> changes(String prefix, List<Change> changes, String value) {
        List<Map.Entry<String, String>> resolved = new ArrayList<>();
        for (Change change : changes) {
            resolved.add(new java.util.AbstractMap.SimpleEntry<>(prefix + change.key(), change.put() ? value : null));
        }
        return resolved;
    }

    private static String json(List<Map.Entry<String, String>> changes) {
        return changes.stream()
                .map(c -> c.getValue() == null ? TxnHttp.delete(c.getKey()) : TxnHttp.put(c.getKey(), c.getValue()))
                .collect(Collectors.joining(",", "[", "]"));
    }
}
