package io.kvstream.page;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;

import io.helidon.webserver.WebServer;
import io.kvstream.auth.Authenticator;
import io.kvstream.config.Settings;
import io.kvstream.replica.Replica;
import io.kvstream.storage.Database;
import io.kvstream.storage.SnapshotReader;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.ws.KvHttp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;

/** {@code GET /} and its static files over real HTTP, from an {@code all} node's replica. */
class LandingPageTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final String XSS = "<img src=x onerror=alert(1)>";
    private static Settings settings;
    private static TestNode node;
    private static long lastRevision;

    @BeforeAll
    static void start() {
        settings = TestServices.settings(Settings.Role.ALL, TestServices.uniqueName("page"),
                                         TestServices.uniqueName("page"));
        node = TestNode.start(settings);
        KvHttp.put(node.port(), "alpha", "first value");
        KvHttp.put(node.port(), "xss", XSS);
        lastRevision = KvHttp.put(node.port(), "long", "y".repeat(300));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    @Test
    void pageShowsReplicaValuesAtItsRevisionHtmlEscaped() {
        HttpResponse<String> page = KvHttp.get(node.uri("/"));

        assertThat(page.statusCode(), is(200));
        assertThat(page.headers().firstValue("Content-Type").orElseThrow(), is("text/html; charset=UTF-8"));
        String html = page.body();
        assertThat(html, containsString("data-revision=\"" + lastRevision + "\""));
        assertThat(html, containsString("<tr data-key=\"alpha\"><td class=\"key\">alpha</td><td class=\"value\">first value</td>"));
        assertThat(html, containsString("&lt;img src&#61;x onerror&#61;alert(1)&gt;"));
        assertThat(html, not(containsString(XSS)));
        assertThat(html, containsString("y".repeat(LandingPage.VALUE_PREVIEW) + "<span class=\"more\">… 300 chars</span>"));
        assertThat(html, containsString("3 keys"));
    }

    /** The page's {@code prefix} follows the rules of {@code /values} and {@code /events}, whose stream it opens. */
    @Test
    void pagePrefixFollowsTheKeyRulesOfTheApi() {
        assertThat(KvHttp.get(node.uri("/?prefix=al+")).body(), not(containsString("data-key=\"alpha\"")));
        assertThat(KvHttp.get(node.uri("/?prefix=al")).body(), containsString("data-key=\"alpha\""));
        for (String bad : List.of("prefix=a%2Fb", "prefix=%FF", "prefix=a&prefix=b")) {
            HttpResponse<String> refused = KvHttp.get(node.uri("/?" + bad));
            assertThat(bad, refused.statusCode(), is(400));
            assertThat(bad, refused.body(), startsWith("{\"error\":\"bad_key\",\"message\":\""));
        }
    }

    @Test
    void anotherMethodOnThePageIs405NamingGetAndHead() throws Exception {
        HttpResponse<String> post = HTTP.send(HttpRequest.newBuilder(node.uri("/"))
                                                      .POST(HttpRequest.BodyPublishers.ofString("x")).build(),
                                              HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode(), is(405));
        assertThat(post.headers().firstValue("Allow").orElseThrow(), is("GET, HEAD"));
        assertThat(post.body(), startsWith("{\"error\":\"method_not_allowed\",\"message\":\"Allowed: GET, HEAD\""));
    }

    @Test
    void pageHasNoInlineScriptAndALockedDownPolicy() {
        HttpResponse<String> page = KvHttp.get(node.uri("/"));
        String port = String.valueOf(node.port());

        assertThat(page.headers().firstValue("Content-Security-Policy").orElseThrow(), is(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self' "
                + "ws://127.0.0.1:" + port + " wss://127.0.0.1:" + port
                + "; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"));
        assertThat(page.headers().firstValue("X-Content-Type-Options").orElseThrow(), is("nosniff"));
        assertThat(page.headers().firstValue("Cache-Control").orElseThrow(), is("no-store"));
        String html = page.body();
        assertThat(html.replaceAll("<script src=\"/static/landing.js\" defer></script>", ""), not(containsString("<script")));
        assertThat(html.matches("(?s).*\\son[a-z]+\\s*=.*"), is(false));
        assertThat(html, not(containsString("style=")));
    }

    @Test
    void staticFilesAreServedFromTheJarWithTheirTypes() {
        for (List<String> file : List.of(List.of("/static/landing.js", "text/javascript"),
                                         List.of("/static/landing.css", "text/css"),
                                         List.of("/static/favicon.svg", "image/svg+xml"))) {
            HttpResponse<String> response = KvHttp.get(node.uri(file.get(0)));
            assertThat(file.get(0), response.statusCode(), is(200));
            assertThat(file.get(0), response.headers().firstValue("Content-Type").orElseThrow(), startsWith(file.get(1)));
            assertThat(response.headers().firstValue("X-Content-Type-Options").orElseThrow(), is("nosniff"));
        }
        assertThat(KvHttp.get(node.uri("/static/landing.js")).body(), containsString("/events?since="));
        assertThat(KvHttp.get(node.uri("/static/landing.js")).headers().firstValue("Referrer-Policy").orElseThrow(),
                   is("no-referrer"));
    }

    @Test
    void onlyTheWebFolderIsServed() {
        for (String path : List.of("/static/nope.js", "/static/", "/static/..%2Fapplication.yaml",
                                   "/static/../application.yaml", "/static/%2e%2e/application.yaml",
                                   "/static/templates/index.mustache", "/static/../templates/index.mustache",
                                   "/static/io/kvstream/page/LandingPage.class")) {
            HttpResponse<String> response = KvHttp.get(node.uri(path));
            assertThat(path, response.statusCode(), is(404));
            assertThat(path, response.body(), not(containsString("port:")));
            assertThat(path, response.body(), not(containsString("{{")));
        }
    }

    @Test
    void staticFilesAreRevalidatedWithTheirEtag() throws Exception {
        for (String path : List.of("/static/landing.js", "/static/landing.css", "/static/favicon.svg")) {
            HttpResponse<String> first = KvHttp.get(node.uri(path));
            String etag = first.headers().firstValue("ETag").orElseThrow();
            assertThat(path, etag, matchesPattern("\"[^\"]+\""));
            assertThat(path, first.headers().firstValue("Cache-Control").orElseThrow(), is("no-cache"));

            HttpResponse<String> again = HTTP.send(HttpRequest.newBuilder(node.uri(path))
                                                           .header("If-None-Match", etag).build(),
                                                   HttpResponse.BodyHandlers.ofString());
            assertThat(path, again.statusCode(), is(304));
            assertThat(path, again.body(), is(""));
            assertThat(path, again.headers().firstValue("ETag").orElseThrow(), is(etag));
            assertThat(path, again.headers().firstValue("Cache-Control").orElseThrow(), is("no-cache"));
            assertThat(path, again.headers().firstValue("X-Content-Type-Options").orElseThrow(), is("nosniff"));
            assertThat(path, again.headers().firstValue("Content-Type").isPresent(), is(false));

            HttpResponse<String> changed = HTTP.send(HttpRequest.newBuilder(node.uri(path))
                                                             .header("If-None-Match", "\"other\"").build(),
                                                     HttpResponse.BodyHandlers.ofString());
            assertThat(path, changed.statusCode(), is(200));
            assertThat(path, changed.body(), is(first.body()));
        }
    }

    @Test
    void pageSaysSoWhenItShowsOnlyTheFirstKeys() {
        try (Database database = Database.open(settings.db(), "page-test")) {
            Replica replica = new Replica(new SnapshotReader(database));
            replica.load();
            WebServer server = WebServer.builder()
                    .host("127.0.0.1")
                    .port(0)
                    .routing(routing -> routing.register(new LandingPage(replica, new Authenticator(settings.auth()), 2)))
                    .build()
                    .start();
            try {
                assertFirstTwoOfThreeKeys(server);
            } finally {
                server.stop();
            }
        }
    }

    private static void assertFirstTwoOfThreeKeys(WebServer server) {
        String html = KvHttp.get(URI.create("http://127.0.0.1:" + server.port() + "/")).body();
        assertThat(html, containsString("first 2 of 3 keys"));
        assertThat(html, containsString("Showing the first 2 keys in key order; 3 keys are stored."));
        assertThat(html, containsString("data-truncated=\"true\""));
        assertThat(html, containsString("data-key=\"alpha\""));
        assertThat(html, containsString("data-key=\"long\""));
        assertThat(html, not(containsString("data-key=\"xss\"")));
    }
}
