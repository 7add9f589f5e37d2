package io.kvstream.api;

import java.net.http.HttpResponse;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvstream.config.Settings;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.wire.Json;
import io.kvstream.ws.KvHttp;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.matchesPattern;

/** {@code /replica}: off unless asked for; when on, the replica's digest equals the table's. */
class ReplicaServiceTest {
    private static Settings settings(String name) {
        return TestServices.settings(Settings.Role.ALL, TestServices.uniqueName(name), TestServices.uniqueName(name));
    }

    @Test
    void isNotServedUnlessAskedFor() {
        try (TestNode node = TestNode.start(settings("replica_off"))) {
            assertThat(KvHttp.get(node.uri("/replica")).statusCode(), is(404));
            assertThat(KvHttp.get(node.uri("/replica?source=database")).statusCode(), is(404));
        }
    }

    @Test
    void theReplicaDigestEqualsTheTablesAndABadSourceIs400() {
        try (TestNode node = TestNode.start(settings("replica_on").toBuilder().replicaEndpoint(true).build())) {
            KvHttp.put(node.port(), "a", "1");
            long revision = KvHttp.put(node.port(), "b", "2");

            HttpResponse<String> replica = KvHttp.get(node.uri("/replica"));
            HttpResponse<String> database = KvHttp.get(node.uri("/replica?source=database"));

            assertThat(replica.statusCode(), is(200));
            assertThat(replica.headers().firstValue("Content-Type").orElseThrow(), is("application/json"));
            JsonNode digest = Json.read(replica.body(), JsonNode.class);
            assertThat(digest.path("revision").asLong(), is(revision));
            assertThat(digest.path("keys").asLong(), is(2L));
            assertThat(digest.path("checksum").asText(), matchesPattern("[0-9a-f]{16}"));
            assertThat(database.statusCode(), is(200));
            assertThat(database.body(), is(replica.body()));

            HttpResponse<String> bad = KvHttp.get(node.uri("/replica?source=disk"));
            assertThat(bad.statusCode(), is(400));
            assertThat(bad.body(), matchesPattern("\\{\"error\":\"bad_source\",.*"));
        }
    }
}
