package io.kvstream.page;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import io.kvstream.auth.Authenticator;
import io.kvstream.config.Settings;
import io.kvstream.testing.ExpiryTools;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.ws.KvHttp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.NoAlertPresentException;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.logging.LogEntry;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The landing page in a real headless Chromium: live deltas over {@code /events}, values shown as text, and
 * resuming after the server it came from restarts. The page node is an {@code all} node; a second {@code all}
 * node on the same database and broker takes writes while the page node is down, as another pod would.
 */
class LandingPageBrowserTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String XSS = "<img src=x onerror=alert(1)>";

    private Settings settings;
    private TestNode pageNode;
    private TestNode writer;
    private Browser browser;

    @BeforeEach
    void start() {
        Browser.assumeInstalled();
        String schema = TestServices.uniqueName("browser");
        String prefix = TestServices.uniqueName("browser");
        settings = TestServices.settings(Settings.Role.ALL, schema, prefix);
        pageNode = TestNode.start(settings);
        writer = TestNode.start(settings);
        browser = Browser.start();
    }

    @AfterEach
    void stop() {
        for (AutoCloseable closeable : new AutoCloseable[] {browser, pageNode, writer}) {
            try {
                if (closeable != null) {
                    closeable.close();
                }
            } catch (Exception e) {
                // keep closing the rest
            }
        }
    }

    private void openPage() {
        browser.driver.get(pageNode.uri("/").toString());
        await().atMost(WAIT).until(() -> browser.text("#state").equals("live"));
    }

    /** With protect-reads the page is opened with ?access_token= and its script streams with the same token. */
    @Test
    void protectedPageStreamsWithTheTokenItWasOpenedWith() {
        String secret = "browser-test-secret-long-enough-for-hs256";
        try (TestNode guarded = TestNode.start(settings.toBuilder().auth(
                new Settings.Auth(secret, "", "", Duration.ofSeconds(5), true, false, false)).build())) {
            String token = JWT.create().withClaim("scope", Authenticator.READ)
                    .withExpiresAt(Instant.now().plusSeconds(300)).sign(Algorithm.HMAC256(secret));
            browser.driver.get(guarded.uri("/?access_token=" + token).toString());
            await().atMost(WAIT).until(() -> browser.text("#state").equals("live"));

            KvHttp.put(writer.port(), "guarded-live", "streamed with the token");
            await().atMost(WAIT).ignoreExceptions()
                    .until(() -> browser.valueCell("guarded-live").getText().equals("streamed with the token"));
        }
    }

    @Test
    void putAndDeleteAppearWithoutReload() {
        KvHttp.put(writer.port(), "existing", "rendered by the server");
        await().atMost(WAIT).until(() -> pageNode.value("existing").isPresent());
        openPage();
        assertThat(browser.valueCell("existing").getText(), is("rendered by the server"));

        long put = KvHttp.put(writer.port(), "live-key", "hello from HTTP");
        await().atMost(WAIT).ignoreExceptions().until(() -> browser.valueCell("live-key").getText().equals("hello from HTTP"));
        assertThat(browser.text("#revision"), is(String.valueOf(put)));

        long delete = KvHttp.delete(writer.port(), "live-key");
        await().atMost(WAIT).until(() -> browser.valueCell("live-key") == null);
        assertThat(browser.text("#revision"), is(String.valueOf(delete)));

        await().atMost(WAIT).until(() -> browser.logEntries().size() >= 2);
        assertThat(browser.logEntries().get(0).contains("ValueHasBeenDeleted"), is(true));
        assertThat(browser.logEntries().get(0).contains("live-key"), is(true));
        assertThat(browser.logEntries().stream().anyMatch(e -> e.contains("ValueHasBeenPut") && e.contains("hello from HTTP")), is(true));
        assertThat(browser.text("#key-count"), is("1 key"));
        assertThat(browser.consoleErrors(), is(empty()));
    }

    /**
     * A key with a time to live shows the time it has left, whether the server rendered it or a put brought it; its
     * expiry removes the row and is marked as an expiry in the log.
     */
    @Test
    void aKeyWithATtlShowsItsTimeLeftAndItsExpiryIsMarkedInTheLog() {
        ExpiryTools.put(writer.port(), "long-lived", "ttl=7200", "rendered");
        await().atMost(WAIT).until(() -> pageNode.value("long-lived").isPresent());
        openPage();
        // Two hours from the commit, less the moments since: rendered by the server, counted down by the script.
        assertThat(browser.text("#values tr[data-key='long-lived'] .ttl"), matchesPattern("expires in (1h 5[0-9]m|2h 0m)"));

        ExpiryTools.put(writer.port(), "short-lived", "ttl=2", "brief");
        await().atMost(WAIT).ignoreExceptions()
                .until(() -> browser.text("#values tr[data-key='short-lived'] .ttl").matches("expires in [12]s|expiring"));
        await().atMost(WAIT).until(() -> browser.valueCell("short-lived") == null);

        await().atMost(WAIT).until(() -> !browser.all("#log li.entry-expire").isEmpty());
        assertThat(browser.text("#log li.entry-expire .detail code.k"), is("short-lived"));
        assertThat(browser.text("#log li.entry-expire .detail .ttl"), is("expired"));
        assertThat(browser.text("#log li.entry-expire .tag"), is("ValueHasBeenDeleted"));
        assertThat(browser.valueCell("long-lived").getText(), is("rendered"));
        assertThat(browser.consoleErrors(), is(empty()));
    }

    @Test
    void markupInValuesIsShownAsText() {
        KvHttp.put(writer.port(), "xss-rendered", XSS);
        await().atMost(WAIT).until(() -> pageNode.value("xss-rendered").isPresent());
        openPage();

        KvHttp.put(writer.port(), "xss-live", XSS);
        KvHttp.put(writer.port(), "<b>bold", XSS);
        await().atMost(WAIT).ignoreExceptions().until(() -> browser.valueCell("<b>bold").getText().equals(XSS));

        assertThat(browser.valueCell("xss-rendered").getText(), is(XSS));
        assertThat(browser.valueCell("xss-live").getText(), is(XSS));
        assertThat(browser.all("main img, main b"), is(empty()));
        assertThrows(NoAlertPresentException.class, () -> browser.driver.switchTo().alert());

        // Reloaded (script and stylesheet revalidated), the server renders the same values, escaped.
        browser.driver.navigate().refresh();
        await().atMost(WAIT).until(() -> browser.text("#state").equals("live"));
        assertThat(browser.valueCell("xss-live").getText(), is(XSS));
        assertThat(browser.valueCell("<b>bold").getText(), is(XSS));
        assertThat(browser.all("main img, main b"), is(empty()));
        assertThrows(NoAlertPresentException.class, () -> browser.driver.switchTo().alert());
        assertThat(browser.consoleErrors(), is(empty()));
    }

    @Test
    void reconnectsAfterServerRestartAndCatchesUp() {
        KvHttp.put(writer.port(), "before", "1");
        await().atMost(WAIT).until(() -> pageNode.value("before").isPresent());
        openPage();
        int port = pageNode.port();

        pageNode.close();
        pageNode = null;
        await().atMost(WAIT).until(() -> browser.text("#state").startsWith("reconnecting"));

        // Changes made while the page's server is away reach the page through the replay.
        KvHttp.put(writer.port(), "while-down", "missed");
        KvHttp.delete(writer.port(), "before");
        pageNode = TestNode.start(settings, port);

        await().atMost(WAIT).ignoreExceptions().until(() -> browser.valueCell("while-down").getText().equals("missed"));
        await().atMost(WAIT).until(() -> browser.valueCell("before") == null);
        await().atMost(WAIT).until(() -> browser.text("#state").equals("live"));

        long after = KvHttp.put(writer.port(), "after-restart", "live again");
        await().atMost(WAIT).ignoreExceptions().until(() -> browser.valueCell("after-restart").getText().equals("live again"));
        assertThat(browser.text("#revision"), is(String.valueOf(after)));
        assertThat(browser.logEntries().stream().filter(e -> e.contains("while-down")).count(), is(1L));
    }

    /**
     * The prefix filter loads {@code /?prefix=P}: only matching keys in the table, and a stream of
     * {@code /events?since=R&prefix=P} that resumes with the filter after the page's server restarts.
     */
    @Test
    void prefixFilterShowsOnlyMatchingKeysAndResumesFiltered() {
        KvHttp.put(writer.port(), "user:1", "ann");
        long order = KvHttp.put(writer.port(), "order:1", "book");
        await().atMost(WAIT).until(() -> pageNode.revision() >= order);
        openPage();
        assertThat(browser.valueCell("order:1").getText(), is("book"));

        browser.driver.findElement(By.id("prefix")).sendKeys("user:" + Keys.ENTER);
        await().atMost(WAIT).until(() -> browser.driver.getCurrentUrl().endsWith("/?prefix=user%3A"));
        await().atMost(WAIT).until(() -> browser.text("#state").equals("live"));
        assertThat(browser.valueCell("user:1").getText(), is("ann"));
        assertThat(browser.valueCell("order:1"), is(nullValue()));
        assertThat(browser.driver.findElement(By.id("prefix")).getAttribute("value"), is("user:"));

        KvHttp.put(writer.port(), "order:2", "pen");
        long user2 = KvHttp.put(writer.port(), "user:2", "bob");
        await().atMost(WAIT).ignoreExceptions().until(() -> browser.valueCell("user:2").getText().equals("bob"));
        assertThat(browser.text("#revision"), is(String.valueOf(user2)));

        int port = pageNode.port();
        pageNode.close();
        pageNode = null;
        await().atMost(WAIT).until(() -> browser.text("#state").startsWith("reconnecting"));
        KvHttp.put(writer.port(), "order:3", "ink");
        KvHttp.put(writer.port(), "user:3", "cid");
        KvHttp.delete(writer.port(), "user:1");
        KvHttp.put(writer.port(), "order:4", "cup");
        pageNode = TestNode.start(settings, port);

        await().atMost(WAIT).ignoreExceptions().until(() -> browser.valueCell("user:3").getText().equals("cid"));
        await().atMost(WAIT).until(() -> browser.valueCell("user:1") == null);
        await().atMost(WAIT).until(() -> browser.text("#state").equals("live"));
        assertThat(browser.all("#values tbody tr").stream().map(tr -> tr.getAttribute("data-key")).toList(),
                   contains("user:2", "user:3"));
        assertThat(browser.logEntries().stream().filter(e -> e.contains("order:")).toList(), is(empty()));
        assertThat(browser.logEntries().stream().filter(e -> e.contains("user:3")).count(), is(1L));
        // While the server was away the page retried the filtered stream from the last revision it applied.
        assertThat(browser.consoleErrors().stream().map(LogEntry::getMessage).toList(), everyItem(containsString(
                "WebSocket connection to 'ws://127.0.0.1:" + port + "/events?since=" + user2 + "&prefix=user%3A' failed")));
    }

    @Test
    void screenshotOfALandingPageWithKeysAndEvents() throws Exception {
        KvHttp.put(writer.port(), "greeting", "Hello, world!");
        KvHttp.put(writer.port(), "config.timeout", "30s");
        KvHttp.put(writer.port(), "feature.flags", "{\"darkMode\":true,\"beta\":false}");
        KvHttp.put(writer.port(), "user:42", "{\"name\":\"Ada Lovelace\",\"role\":\"admin\"}");
        KvHttp.put(writer.port(), "xss", XSS);
        KvHttp.put(writer.port(), "temp", "to be deleted");
        long last = KvHttp.put(writer.port(), "notes", "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(5));
        await().atMost(WAIT).until(() -> pageNode.revision() >= last);
        openPage();

        KvHttp.put(writer.port(), "greeting", "Hello again, world!");
        KvHttp.delete(writer.port(), "temp");
        KvHttp.put(writer.port(), "counter", "1");
        long end = KvHttp.put(writer.port(), "counter", "2");
        await().atMost(WAIT).until(() -> browser.text("#revision").equals(String.valueOf(end)));

        Path file = Path.of("target", "screenshots", "landing-page.png");
        Files.createDirectories(file.getParent());
        Files.write(file, browser.driver.getScreenshotAs(OutputType.BYTES));
        assertThat(Files.size(file) > 10_000, is(true));
    }
}
