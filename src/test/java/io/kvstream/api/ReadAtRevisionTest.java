package io.kvstream.api;

import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvstream.config.Settings;
import io.kvstream.storage.Database;
import io.kvstream.storage.EventLog;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.wire.Json;
import io.kvstream.ws.KvHttp;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;

/** {@code GET /values/{key}?revision=R} and {@code GET /values?revision=R}: the store as it was, from the history. */
class ReadAtRevisionTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static Settings settings(String name) {
        return TestServices.settings(Settings.Role.ALL, TestServices.uniqueName(name), TestServices.uniqueName(name));
    }

    private static HttpResponse<String> get(TestNode node, String pathAndQuery) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(node.uri(pathAndQuery)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static long delete(TestNode node, String key) throws Exception {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(node.uri("/values/" + key)).DELETE().build(),
                                                  HttpResponse.BodyHandlers.ofString());
        assertThat(response.body(), response.statusCode(), is(200));
        return Json.read(response.body(), JsonNode.class).path("revision").asLong();
    }

    @Test
    void aKeyReadsAsItWasAtEachRevision() throws Exception {
        try (TestNode node = TestNode.start(settings("history"))) {
            long first = KvHttp.put(node.port(), "a", "1");
            long second = KvHttp.put(node.port(), "a", "2");
            long deleted = delete(node, "a");
            long other = KvHttp.put(node.port(), "b", "x");
            long recreated = KvHttp.put(node.port(), "a", "3");

            HttpResponse<String> atFirst = get(node, "/values/a?revision=" + first);
            assertThat(atFirst.statusCode(), is(200));
            assertThat(atFirst.body(), is("{\"key\":\"a\",\"value\":\"1\",\"revision\":" + first + "}"));
            assertThat(atFirst.headers().firstValue("ETag").orElseThrow(), is("\"" + first + "\""));
            assertThat(atFirst.headers().firstValue("Content-Type").orElseThrow(), is("application/json"));
            assertThat(get(node, "/values/a?revision=" + second).body(),
                       is("{\"key\":\"a\",\"value\":\"2\",\"revision\":" + second + "}"));
            for (long absent : new long[] {0, deleted, other}) {
                HttpResponse<String> response = get(node, "/values/a?revision=" + absent);
                assertThat("a@" + absent, response.statusCode(), is(404));
                assertThat("a@" + absent, response.body(), is(""));
            }
            assertThat(get(node, "/values/a?revision=" + recreated).body(),
                       is("{\"key\":\"a\",\"value\":\"3\",\"revision\":" + recreated + "}"));

            HttpResponse<String> future = get(node, "/values/a?revision=" + (recreated + 1));
            assertThat(future.statusCode(), is(400));
            assertThat(future.body(), startsWith("{\"error\":\"future_revision\","));
            for (String beyond : List.of("9223372036854775807", "99999999999999999999")) {
                HttpResponse<String> response = get(node, "/values/a?revision=" + beyond);
                assertThat(beyond, response.statusCode(), is(400));
                assertThat(beyond, response.body(), startsWith("{\"error\":\"future_revision\","));
            }
            for (String bad : List.of("abc", "-1", "", "1.5", "1".repeat(65))) {
                HttpResponse<String> response = get(node, "/values/a?revision=" + URLEncoder.encode(bad, StandardCharsets.UTF_8));
                assertThat(bad, response.statusCode(), is(400));
                assertThat(bad, response.body(), startsWith("{\"error\":\"bad_revision\","));
            }

            assertThat(get(node, "/values?revision=" + second).body(),
                       is("{\"revision\":" + second + ",\"values\":[{\"key\":\"a\",\"value\":\"2\",\"revision\":" + second + "}]}"));
            assertThat(get(node, "/values?revision=" + other).body(),
                       is("{\"revision\":" + other + ",\"values\":[{\"key\":\"b\",\"value\":\"x\",\"revision\":" + other + "}]}"));
            assertThat(get(node, "/values?limit=1&revision=" + recreated).body(),
                       is("{\"revision\":" + recreated + ",\"values\":[{\"key\":\"a\",\"value\":\"3\",\"revision\":"
                          + recreated + "}],\"next\":\"a\"}"));
            assertThat(get(node, "/values?limit=1&after=a&prefix=b&revision=" + recreated).body(),
                       is("{\"revision\":" + recreated + ",\"values\":[{\"key\":\"b\",\"value\":\"x\",\"revision\":"
                          + other + "}]}"));
        }
    }

    /**
     * A listing of the present (from the replica) and one at a revision (from PostgreSQL) sort keys alike, by their
     * UTF-8 bytes, also where UTF-16 order differs (U+1F600 is a surrogate pair, sorted below U+E000 by UTF-16 units);
     * so a page's {@code next} continues the same order whichever source answers.
     */
    @Test
    void theReplicaAndTheHistoryListKeysInOneOrder() throws Exception {
        try (TestNode node = TestNode.start(settings("history_order"))) {
            List<String> keys = List.of("o-\uD83D\uDE00", "o-\uE000", "o-~", "o-a");
            long last = 0;
            for (String key : keys) {
                last = KvHttp.put(node.port(), key, "v");
            }
            List<String> utf8Order = List.of("o-a", "o-~", "o-\uE000", "o-\uD83D\uDE00");
            assertThat(listedKeys(node, "/values?prefix=o-"), is(utf8Order));
            assertThat(listedKeys(node, "/values?prefix=o-&revision=" + last), is(utf8Order));
            for (String revision : List.of("", "&revision=" + last)) {
                List<String> paged = new ArrayList<>();
                String after = null;
                do {
                    JsonNode page = Json.read(get(node, "/values?prefix=o-&limit=1" + revision
                            + (after == null ? "" : "&after=" + URLEncoder.encode(after, StandardCharsets.UTF_8))).body(),
                                              JsonNode.class);
                    page.path("values").forEach(v -> paged.add(v.path("key").asText()));
                    after = page.hasNonNull("next") ? page.path("next").asText() : null;
                } while (after != null && paged.size() <= keys.size());
                assertThat("paged" + revision, paged, is(utf8Order));
            }
        }
    }

    /**
     * A page ends before its keys and values pass {@link ValuesService#MAX_PAGE_BYTES}, from the replica and at a
     * revision alike, and {@code next} carries on from there: large values cannot make one answer hold more.
     */
    @Test
    void aPageOfLargeValuesEndsAtItsBoundInBytesAndNextCarriesOn() throws Exception {
        try (TestNode node = TestNode.start(settings("history_bytes"))) {
            String large = "v".repeat(1_000_000);
            long last = 0;
            for (int i = 1; i <= 6; i++) {
                last = KvHttp.put(node.port(), "big-" + i, large);
            }
            KvHttp.put(node.port(), "big-7", "small");
            // Four values of 1,000,000 bytes and their keys fit in 4 MiB; a fifth does not.
            for (String revision : List.of("", "&revision=" + last)) {
                JsonNode first = Json.read(get(node, "/values?prefix=big-" + revision).body(), JsonNode.class);
                assertThat(revision, keys(first), is(List.of("big-1", "big-2", "big-3", "big-4")));
                assertThat(revision, first.path("values").get(3).path("value").asText(), is(large));
                assertThat(revision, first.path("next").asText(), is("big-4"));
                JsonNode second = Json.read(get(node, "/values?prefix=big-&after=big-4" + revision).body(),
                                            JsonNode.class);
                assertThat(revision, keys(second), is(revision.isEmpty() ? List.of("big-5", "big-6", "big-7")
                                                                         : List.of("big-5", "big-6")));
                assertThat(revision, second.has("next"), is(false));
                JsonNode limited = Json.read(get(node, "/values?prefix=big-&limit=2" + revision).body(), JsonNode.class);
                assertThat(revision, keys(limited), is(List.of("big-1", "big-2")));
                assertThat(revision, limited.path("next").asText(), is("big-2"));

                // Keys alone: limit bounds them, and no value is sent.
                HttpResponse<String> keysOnly = get(node, "/values?prefix=big-&keys_only=true" + revision);
                assertThat(revision, keysOnly.statusCode(), is(200));
                JsonNode listed = Json.read(keysOnly.body(), JsonNode.class);
                assertThat(revision, keys(listed), is(revision.isEmpty()
                        ? List.of("big-1", "big-2", "big-3", "big-4", "big-5", "big-6", "big-7")
                        : List.of("big-1", "big-2", "big-3", "big-4", "big-5", "big-6")));
                assertThat(revision, listed.has("next"), is(false));
                assertThat(revision, listed.path("values").get(5).toString(),
                           is("{\"key\":\"big-6\",\"revision\":" + last + "}"));
                JsonNode firstKey = Json.read(get(node, "/values?prefix=big-&keys_only=true&limit=1" + revision).body(),
                                              JsonNode.class);
                assertThat(revision, firstKey.toString(), is("{\"revision\":" + (revision.isEmpty() ? last + 1 : last)
                        + ",\"values\":[{\"key\":\"big-1\",\"revision\":" + (last - 5) + "}],\"next\":\"big-1\"}"));
                assertThat(get(node, "/values?keys_only=yes" + revision).body(),
                           startsWith("{\"error\":\"bad_keys_only\",\"message\":\"keys_only must be true or false\""));
            }
        }
    }

    /**
     * The bound counts what is sent: a control character travels as six bytes ({@code \u0001}) and a quote as two,
     * so values small in UTF-8 but large as JSON end a page as soon as large ones do, from both sources.
     */
    @Test
    void aPageIsBoundedByItsValuesAsJsonNotAsStored() throws Exception {
        try (TestNode node = TestNode.start(settings("history_escaped"))) {
            // 600,000 bytes stored, 2,400,000 as JSON: one fits in 4 MiB, two do not.
            String escaped = "\u0001".repeat(300_000) + "\"".repeat(300_000);
            long last = 0;
            for (int i = 1; i <= 3; i++) {
                last = KvHttp.put(node.port(), "esc-" + i, escaped);
            }
            for (String revision : List.of("", "&revision=" + last)) {
                HttpResponse<String> first = get(node, "/values?prefix=esc-" + revision);
                JsonNode page = Json.read(first.body(), JsonNode.class);
                assertThat(revision, keys(page), is(List.of("esc-1")));
                assertThat(revision, page.path("values").get(0).path("value").asText(), is(escaped));
                assertThat(revision, page.path("next").asText(), is("esc-1"));
                assertThat(revision, keys(Json.read(get(node, "/values?prefix=esc-&after=esc-2" + revision).body(),
                                                    JsonNode.class)), is(List.of("esc-3")));
            }
        }
    }

    private static List<String> keys(JsonNode page) {
        List<String> keys = new ArrayList<>();
        page.path("values").forEach(v -> keys.add(v.path("key").asText()));
        return keys;
    }

    /** {@code prefix} and {@code after} follow the key rules, as a path's key and {@code /events}' filters do. */
    @Test
    void listingParametersFollowTheKeyRules() throws Exception {
        try (TestNode node = TestNode.start(settings("list_params"))) {
            for (String bad : List.of("prefix=a%00", "prefix=a%2Fb", "after=%FF", "prefix=" + "k".repeat(257))) {
                for (String revision : List.of("", "&revision=0")) {
                    HttpResponse<String> response = get(node, "/values?" + bad + revision);
                    assertThat(bad, response.statusCode(), is(400));
                    assertThat(bad, response.body(), startsWith("{\"error\":\"bad_key\",\"message\":\"The parameter "));
                }
            }
            assertThat(get(node, "/values?prefix=&after=").statusCode(), is(200));
        }
    }

    /**
     * Query parameters are form-encoded, as every form encoder writes them: {@code +} is a space and a plus sign is
     * {@code %2B}, so a {@code next} passed back through one continues where it left off, from both sources.
     */
    @Test
    void aPlusInAQueryParameterIsASpace() throws Exception {
        try (TestNode node = TestNode.start(settings("list_plus"))) {
            KvHttp.put(node.port(), "p b", "space");
            KvHttp.put(node.port(), "p#b", "hash");
            long last = KvHttp.put(node.port(), "p+b", "plus");
            for (String revision : List.of("", "&revision=" + last)) {
                assertThat(revision, listedKeys(node, "/values?prefix=p+" + revision), is(List.of("p b")));
                assertThat(revision, listedKeys(node, "/values?prefix=p%2B" + revision), is(List.of("p+b")));
                List<String> paged = new ArrayList<>();
                String after = null;
                do {
                    String query = "prefix=p&limit=1" + (after == null ? ""
                            : "&after=" + URLEncoder.encode(after, StandardCharsets.UTF_8)) + revision;
                    JsonNode page = Json.read(get(node, "/values?" + query).body(), JsonNode.class);
                    page.path("values").forEach(v -> paged.add(v.path("key").asText()));
                    after = page.has("next") ? page.path("next").asText() : null;
                } while (after != null);
                assertThat(revision, paged, is(List.of("p b", "p#b", "p+b")));
            }
        }
    }

    private static List<String> listedKeys(TestNode node, String pathAndQuery) throws Exception {
        HttpResponse<String> response = get(node, pathAndQuery);
        assertThat(response.body(), response.statusCode(), is(200));
        List<String> listed = new ArrayList<>();
        Json.read(response.body(), JsonNode.class).path("values").forEach(v -> listed.add(v.path("key").asText()));
        return listed;
    }

    @Test
    void aRevisionInsideATransactionReadsAsTheRevisionBeforeIt() throws Exception {
        try (TestNode node = TestNode.start(settings("history_txn"))) {
            long before = KvHttp.put(node.port(), "t-a", "old");
            HttpResponse<String> txn = HTTP.send(HttpRequest.newBuilder(node.uri("/txn")).POST(HttpRequest.BodyPublishers.ofString(
                    "{\"compare\":[],\"success\":[{\"op\":\"put\",\"key\":\"t-a\",\"value\":\"new\"},"
                    + "{\"op\":\"put\",\"key\":\"t-b\",\"value\":\"new\"}],\"failure\":[]}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(txn.body(), txn.statusCode(), is(200));
            long last = Json.read(txn.body(), JsonNode.class).path("revision").asLong();
            assertThat(last, is(before + 2));

            // before + 1 is inside the transaction: t-a changed there, t-b only at its end.
            assertThat(get(node, "/values/t-a?revision=" + (before + 1)).body(),
                       is("{\"key\":\"t-a\",\"value\":\"old\",\"revision\":" + before + "}"));
            assertThat(get(node, "/values/t-b?revision=" + (before + 1)).statusCode(), is(404));
            // The listing names the revision it read, from which /events?since= replays the whole transaction.
            assertThat(get(node, "/values?prefix=t-&revision=" + (before + 1)).body(),
                       is("{\"revision\":" + before + ",\"values\":[{\"key\":\"t-a\",\"value\":\"old\",\"revision\":"
                          + before + "}]}"));
            assertThat(get(node, "/values/t-b?revision=" + last).body(),
                       is("{\"key\":\"t-b\",\"value\":\"new\",\"revision\":" + last + "}"));
        }
    }

    /**
     * A key left unchanged past a compaction keeps its value at every revision from there on, also once it changes:
     * its last change before the compacted revision is the only record of that value once the store holds the new one.
     */
    @Test
    void aKeyUnchangedPastACompactionReadsAsItWasAfterItChanges() throws Exception {
        // Keep 20 revisions, compact every 10.
        Settings settings = settings("history_cold").toBuilder().events(new Settings.Events(20, 10)).build();
        try (TestNode node = TestNode.start(settings); Database database = Database.open(settings.db(), "history-test")) {
            long cold = KvHttp.put(node.port(), "cold", "before");
            long last = cold;
            for (int i = 0; i < 40; i++) {
                last = KvHttp.put(node.port(), "hot", "v" + i);
            }
            EventLog log = new EventLog(database);
            long through = last - 20;
            await().until(() -> log.compactedRevision() >= through - 10);
            long compacted = log.compactedRevision();
            long changed = KvHttp.put(node.port(), "cold", "after");

            String before = "{\"key\":\"cold\",\"value\":\"before\",\"revision\":" + cold + "}";
            for (long revision = compacted; revision < changed; revision++) {
                assertThat("cold@" + revision, get(node, "/values/cold?revision=" + revision).body(), is(before));
            }
            assertThat(get(node, "/values/cold?revision=" + changed).body(),
                       is("{\"key\":\"cold\",\"value\":\"after\",\"revision\":" + changed + "}"));
            assertThat(get(node, "/values?prefix=cold&revision=" + compacted).body(),
                       is("{\"revision\":" + compacted + ",\"values\":[" + before + "]}"));
        }
    }

    /** One acknowledged change: its revision, key, and value (null for a delete). */
    private record Change(long revision, String key, String value) {
    }

    @Test
    void everyRetainedRevisionMatchesTheAcknowledgedWritesUnderConcurrencyAndCompaction() throws Exception {
        // Keep 20 revisions, compact every 10: the writes below cross several compactions.
        Settings settings = settings("history_compact");
        settings = settings.toBuilder().events(new Settings.Events(20, 10)).build();
        List<Change> changes = new CopyOnWriteArrayList<>();
        try (TestNode node = TestNode.start(settings); Database database = Database.open(settings.db(), "history-test")) {
            ExecutorService writers = Executors.newFixedThreadPool(4);
            for (int w = 0; w < 4; w++) {
                int writer = w;
                writers.submit(() -> {
                    for (int i = 0; i < 30; i++) {
                        String key = "k" + (i % 5);
                        if (i % 7 == writer) {
                            HttpResponse<String> response = HTTP.send(
                                    HttpRequest.newBuilder(node.uri("/values/" + key)).DELETE().build(),
                                    HttpResponse.BodyHandlers.ofString());
                            JsonNode body = Json.read(response.body(), JsonNode.class);
                            if ("1".equals(body.path("message").asText())) {
                                changes.add(new Change(body.path("revision").asLong(), key, null));
                            }
                        } else {
                            String value = "w" + writer + "-" + i;
                            changes.add(new Change(KvHttp.put(node.port(), key, value), key, value));
                        }
                    }
                    return null;
                });
            }
            writers.shutdown();
            assertThat(writers.awaitTermination(2, TimeUnit.MINUTES), is(true));
            EventLog log = new EventLog(database);
            long current = log.committedRevision();
            assertThat("every change was acknowledged", (long) changes.size(), is(current));
            await().until(() -> log.compactedRevision() >= current - 30);
            long compacted = log.compactedRevision();

            HttpResponse<String> gone = get(node, "/values/k0?revision=" + (compacted - 1));
            assertThat(gone.statusCode(), is(410));
            assertThat(gone.body(), startsWith("{\"error\":\"compacted\","));
            assertThat(get(node, "/values?revision=" + (compacted - 1)).statusCode(), is(410));

            for (long revision = compacted; revision <= current; revision++) {
                Map<String, Change> state = new TreeMap<>();
                for (Change change : changes) {
                    if (change.revision() <= revision) {
                        state.merge(change.key(), change, (a, b) -> a.revision() > b.revision() ? a : b);
                    }
                }
                List<String> expectedListing = new ArrayList<>();
                for (int k = 0; k < 5; k++) {
                    String key = "k" + k;
                    Change last = state.get(key);
                    HttpResponse<String> response = get(node, "/values/" + key + "?revision=" + revision);
                    if (last == null || last.value() == null) {
                        assertThat(key + "@" + revision, response.statusCode(), is(404));
                    } else {
                        String body = "{\"key\":\"" + key + "\",\"value\":\"" + last.value() + "\",\"revision\":"
                                      + last.revision() + "}";
                        assertThat(key + "@" + revision, response.body(), is(body));
                        expectedListing.add(body);
                    }
                }
                assertThat("listing @" + revision, get(node, "/values?prefix=k&revision=" + revision).body(),
                           is("{\"revision\":" + revision + ",\"values\":[" + String.join(",", expectedListing) + "]}"));
            }
        }
    }
}
