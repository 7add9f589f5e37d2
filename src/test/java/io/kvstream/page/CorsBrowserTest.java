package io.kvstream.page;

import java.time.Duration;
import java.util.Map;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.WebServer;
import io.kvstream.auth.Authenticator;
import io.kvstream.config.Settings;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.Tokens;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;

/**
 * A browser app on another origin (a page served by a second web server, on another port) calls a kvstream node
 * with {@code fetch()} in a real headless Chromium: its preflighted writes go through, and it reads the ETag and the
 * JSON body of a 412 and a 401. The same page loaded from an origin not allowed cannot read anything.
 */
class CorsBrowserTest {
    private static final String SECRET = "a-browser-cors-secret-long-enough-for-hs256";
    /** Runs in the page; every call's status, ETag, challenge and body, or the error fetch() threw. */
    private static final String PAGE = """
            <!doctype html><meta charset="utf-8"><title>app</title>
            <script>
            async function call(url, init) {
              try {
                const r = await fetch(url, init);
                return {status: r.status, etag: r.headers.get('ETag'), challenge: r.headers.get('WWW-Authenticate'),
                        body: await r.text()};
              } catch (e) {
                return {error: e.name};
              }
            }
            async function scenario(api, token) {
              const key = api + '/values/from-the-browser';
              const auth = {'Authorization': 'Bearer ' + token, 'Content-Type': 'application/octet-stream'};
              const put = await call(key, {method: 'PUT', body: 'v1',
                                           headers: {...auth, 'Idempotency-Key': crypto.randomUUID()}});
              const get = await call(key);
              const stale = await call(key, {method: 'PUT', body: 'v2', headers: {...auth, 'If-Match': '"999999"'}});
              const anonymous = await call(key, {method: 'PUT', body: 'v3', headers: {'If-None-Match': '*'}});
              const missing = await call(api + '/values/never-written');
              return {put, get, stale, anonymous, missing};
            }
            </script>
            """;

    private static WebServer app;
    private static TestNode node;
    private static Browser browser;

    @BeforeAll
    static void start() {
        Browser.assumeInstalled();
        app = WebServer.builder()
                .host("127.0.0.1")
                .port(0)
                .routing(routing -> routing.get("/", (req, res) -> res.header(HeaderNames.CONTENT_TYPE, "text/html; charset=UTF-8").send(PAGE)))
                .build()
                .start();
        String name = TestServices.uniqueName("corsbrowser");
        node = TestNode.start(TestServices.settings(Settings.Role.ALL, name, name).toBuilder()
                                      .cors(new Settings.Cors(Settings.commaSeparated("http://127.0.0.1:" + app.port())))
                                      .auth(new Settings.Auth(SECRET, "", "", Duration.ofSeconds(5), false, false, false))
                                      .build());
        browser = Browser.start();
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable closeable : new AutoCloseable[] {browser, node, app == null ? null : app::stop}) {
            try {
                if (closeable != null) {
                    closeable.close();
                }
            } catch (Exception e) {
                // keep closing the rest
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Map<String, Object>> runScenario(String pageOrigin) {
        browser.driver.get(pageOrigin + "/");
        browser.driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(30));
        String token = Tokens.hs256(SECRET, "{\"scope\":\"" + Authenticator.WRITE + " " + Authenticator.READ + "\"}");
        return (Map<String, Map<String, Object>>) browser.driver.executeAsyncScript(
                "scenario(arguments[0], arguments[1]).then(arguments[2])", "http://127.0.0.1:" + node.port(), token);
    }

    @Test
    void appOnAnAllowedOriginWritesReadsAndReadsTheErrors() {
        Map<String, Map<String, Object>> results = runScenario("http://127.0.0.1:" + app.port());

        Map<String, Object> put = results.get("put");
        assertThat(results.toString(), put.get("status"), is(200L));
        String etag = (String) put.get("etag");
        assertThat(results.toString(), etag, startsWith("\""));
        assertThat(results.get("get").get("status"), is(200L));
        assertThat(results.get("get").get("etag"), is(etag));
        assertThat(results.get("get").get("body"), is("{\"key\":\"from-the-browser\",\"value\":\"v1\"}"));

        Map<String, Object> stale = results.get("stale");
        assertThat(results.toString(), stale.get("status"), is(412L));
        assertThat((String) stale.get("body"), startsWith("{\"error\":\"precondition_failed\""));
        Map<String, Object> anonymous = results.get("anonymous");
        assertThat(results.toString(), anonymous.get("status"), is(401L));
        assertThat((String) anonymous.get("challenge"), startsWith("Bearer realm=\"kvstream\""));
        assertThat((String) anonymous.get("body"), startsWith("{\"error\":\"unauthorized\""));
        assertThat(results.get("missing").get("status"), is(404L));
    }

    /** {@code localhost} is another origin than {@code 127.0.0.1}: the same page from there is refused. */
    @Test
    void appOnAnotherOriginCannotReadAnything() {
        Map<String, Map<String, Object>> results = runScenario("http://localhost:" + app.port());

        for (String call : new String[] {"put", "get", "stale", "anonymous", "missing"}) {
            assertThat(call + ": " + results, results.get(call).get("error"), is("TypeError"));
        }
    }
}
