package io.kvstream.api;

import java.net.http.HttpResponse;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvstream.config.Settings;
import io.kvstream.testing.ExpiryTools;
import io.kvstream.testing.SseClient;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.WsClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;

/**
 * {@code PUT /values/{key}?ttl=S} through real HTTP against real PostgreSQL and AMQP, one all-in-one process: the
 * deadline in the answers and the {@code Expires} header, the 400s, what a later write or a delete does to a
 * deadline, and the expiry itself as a {@code "expired":true} delete on {@code /events}.
 */
class ExpiringKeysTest {
    private static TestNode node;

    @BeforeAll
    static void start() {
        node = TestNode.start(TestServices.settings(Settings.Role.ALL, TestServices.uniqueName("ttl"),
                                                    TestServices.uniqueName("ttl")));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    private static String unique(String name) {
        return name + "-" + UUID.randomUUID();
    }

    @Test
    void putWithTtlAnswersItsDeadlineInBodyAndExpiresHeaderAndSoDoReads() {
        String key = unique("session");
        Instant before = Instant.now().truncatedTo(ChronoUnit.MICROS);

        HttpResponse<String> put = ExpiryTools.put(node.port(), key, "ttl=60", "token");

        assertThat(put.statusCode(), is(200));
        JsonNode body = WsClient.node(put.body());
        Instant expires = Instant.parse(body.path("expires").asText());
        assertThat(!expires.isBefore(before.plusSeconds(60)) && !expires.isAfter(Instant.now().plusSeconds(60)),
                   is(true));
        // An HTTP-date (IMF-fixdate), to the second.
        assertThat(put.headers().firstValue("Expires").orElseThrow(),
                   is(DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.ENGLISH)
                              .withZone(ZoneOffset.UTC).format(expires)));
        assertThat(Instant.from(DateTimeFormatter.RFC_1123_DATE_TIME.parse(put.headers().firstValue("Expires")
                                                                                    .orElseThrow())),
                   is(expires.truncatedTo(ChronoUnit.SECONDS)));
        assertThat(put.body(), is("{\"key\":\"" + key + "\",\"value\":\"token\",\"message\":\"OK\",\"revision\":"
                                  + body.path("revision").asLong() + ",\"expires\":\"" + expires + "\"}"));

        HttpResponse<String> get = ExpiryTools.get(node.port(), "/values/" + key);
        assertThat(get.statusCode(), is(200));
        assertThat(get.body(), is("{\"key\":\"" + key + "\",\"value\":\"token\",\"expires\":\"" + expires + "\"}"));
        assertThat(get.headers().firstValue("Expires"), is(put.headers().firstValue("Expires")));
        assertThat(ExpiryTools.get(node.port(), "/values?prefix=" + key).body(),
                   is("{\"revision\":" + body.path("revision").asLong() + ",\"values\":[{\"key\":\"" + key
                      + "\",\"value\":\"token\",\"revision\":" + body.path("revision").asLong() + ",\"expires\":\""
                      + expires + "\"}]}"));

        // Read at the revision of the put, from the stored history: the same deadline.
        long revision = body.path("revision").asLong();
        HttpResponse<String> at = ExpiryTools.get(node.port(), "/values/" + key + "?revision=" + revision);
        assertThat(at.body(), is("{\"key\":\"" + key + "\",\"value\":\"token\",\"revision\":" + revision
                                 + ",\"expires\":\"" + expires + "\"}"));
        assertThat(at.headers().firstValue("Expires"), is(put.headers().firstValue("Expires")));
        assertThat(ExpiryTools.get(node.port(), "/values?prefix=" + key + "&revision=" + revision).body(),
                   is("{\"revision\":" + revision + ",\"values\":[{\"key\":\"" + key + "\",\"value\":\"token\","
                      + "\"revision\":" + revision + ",\"expires\":\"" + expires + "\"}]}"));
    }

    @Test
    void ttlOutsideOneSecondToAYearIs400AndWritesNothing() {
        String key = unique("bad");
        for (String bad : List.of("0", "31536001", "-1", "1.5", "abc", "", "99999999999999999999")) {
            HttpResponse<String> put = ExpiryTools.put(node.port(), key, "ttl=" + bad, "v");
            assertThat(bad, put.statusCode(), is(400));
            assertThat(bad, put.body(), startsWith("{\"error\":\"bad_ttl\","));
        }
        assertThat(ExpiryTools.get(node.port(), "/values/" + key).statusCode(), is(404));
        assertThat(ExpiryTools.put(node.port(), key, "ttl=31536000", "v").statusCode(), is(200));
    }

    @Test
    void expiryIsADeleteMarkedExpiredOnEventsAndTheKeyIsGone() {
        String key = unique("short");
        try (SseClient events = SseClient.connectLive(node.port(), "")) {
            long put = WsClient.node(ExpiryTools.put(node.port(), key, "ttl=1", "soon").body()).path("revision").asLong();

            await().until(() -> events.keys().stream().filter(key::equals).count() == 2);

            List<JsonNode> ofKey = events.ofType("domain_event").stream().map(e -> WsClient.node(e.data()))
                    .filter(e -> key.equals(e.path("event").path("key").asText())).toList();
            assertThat(ofKey.get(0).path("event").path("revision").asLong(), is(put));
            assertThat(ofKey.get(0).path("event").has("expires"), is(true));
            assertThat(ofKey.get(1).path("value").asText(), is("ValueHasBeenDeleted"));
            assertThat(ofKey.get(1).path("event").path("event").asText(), is("value_deleted"));
            assertThat(ofKey.get(1).path("event").path("expired").asBoolean(), is(true));
            assertThat(ofKey.get(1).path("event").path("revision").asLong() > put, is(true));
            assertThat(ExpiryTools.get(node.port(), "/values/" + key).statusCode(), is(404));
        }
    }

    /**
     * A deadline belongs to the value that set it: a later PUT without ttl makes the key permanent, a DELETE takes
     * the deadline with the row. A third key's expiry, due after both deadlines, shows the expiry ran past them.
     */
    @Test
    void aLaterPutWithoutTtlMakesTheKeyPermanentAndADeleteTakesTheDeadlineAlong() {
        String kept = unique("kept");
        String deleted = unique("deleted");
        String marker = unique("marker");
        try (SseClient events = SseClient.connectLive(node.port(), "")) {
            ExpiryTools.put(node.port(), kept, "ttl=1", "first");
            ExpiryTools.put(node.port(), deleted, "ttl=1", "first");
            HttpResponse<String> permanent = ExpiryTools.put(node.port(), kept, "", "second");
            assertThat(ExpiryTools.delete(node.port(), deleted).statusCode(), is(200));
            ExpiryTools.put(node.port(), marker, "ttl=1", "last");

            await().until(() -> events.keys().stream().filter(marker::equals).count() == 2);

            assertThat(permanent.headers().firstValue("Expires").isPresent(), is(false));
            HttpResponse<String> get = ExpiryTools.get(node.port(), "/values/" + kept);
            assertThat(get.statusCode(), is(200));
            assertThat(get.body(), is("{\"key\":\"" + kept + "\",\"value\":\"second\"}"));
            assertThat(get.headers().firstValue("Expires").isPresent(), is(false));
            assertThat(events.keys().stream().filter(kept::equals).count(), is(2L));
            assertThat(events.keys().stream().filter(deleted::equals).count(), is(2L));
        }
    }

    @Test
    void aPutWithTtlSetsANewDeadline() {
        String key = unique("renewed");
        Instant first = Instant.parse(WsClient.node(ExpiryTools.put(node.port(), key, "ttl=1", "a").body())
                                              .path("expires").asText());

        Instant second = Instant.parse(WsClient.node(ExpiryTools.put(node.port(), key, "ttl=3600", "b").body())
                                               .path("expires").asText());

        assertThat(second.isAfter(first.plusSeconds(3000)), is(true));
        assertThat(WsClient.node(ExpiryTools.get(node.port(), "/values/" + key).body()).path("expires").asText(),
                   is(second.toString()));
    }
}
