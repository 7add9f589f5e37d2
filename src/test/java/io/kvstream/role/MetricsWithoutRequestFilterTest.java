package io.kvstream.role;

import java.net.URI;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.helidon.webserver.WebServer;
import io.helidon.webserver.observe.ObserveFeature;
import io.helidon.webserver.observe.metrics.MetricsObserver;
import io.helidon.webserver.observe.spi.Observer;
import io.kvstream.ws.KvHttp;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.is;

/**
 * {@link MetricsWithoutRequestFilter} leans on how Helidon's metrics observer registers its per-request filter; no
 * configuration of Helidon 4.5.0 turns that filter off. These tests fail when that changes, so an upgrade re-checks it.
 */
class MetricsWithoutRequestFilterTest {
    private static final Pattern KPI_COUNT = Pattern.compile("(?m)^requests_count_total\\{[^}]*} ([0-9.E]+)$");

    @Test
    void helidonIsTheVersionThisWasCheckedAgainst() {
        assertThat("Helidon was upgraded: check whether its metrics observer (MetricsFeature.configureVendorMetrics)"
                   + " still adds its KPI filter through the routing it is given and whether a setting now turns it"
                   + " off; if so, drop MetricsWithoutRequestFilter. Then update this version",
                   MetricsObserver.class.getPackage().getImplementationVersion(), is("4.5.0"));
    }

    @Test
    void helidonsObserverCountsEveryRequestAndOursDoesNot() {
        int requests = 5;
        assertThat("KPI requests counted with the filter left out",
                   kpiCount(new MetricsWithoutRequestFilter(), requests), is(0.0));
        assertThat("Helidon's own observer no longer counts requests through its filter: re-check "
                   + "MetricsWithoutRequestFilter", kpiCount(MetricsObserver.create(), requests),
                   greaterThanOrEqualTo((double) requests));
    }

    /** Helidon's KPI request counter after {@code requests} GETs to a server observed by {@code metrics}. */
    private static double kpiCount(Observer metrics, int requests) {
        WebServer server = WebServer.builder()
                .host("127.0.0.1")
                .port(0)
                .addFeature(ObserveFeature.builder().observersDiscoverServices(false).addObserver(metrics).build())
                .routing(routing -> routing.get("/hello", (req, res) -> res.send("hi")))
                .build()
                .start();
        try {
            for (int i = 0; i < requests; i++) {
                assertThat(KvHttp.get(URI.create("http://127.0.0.1:" + server.port() + "/hello")).statusCode(), is(200));
            }
            String text = KvHttp.get(URI.create("http://127.0.0.1:" + server.port() + "/observe/metrics")).body();
            Matcher count = KPI_COUNT.matcher(text);
            assertThat("Helidon's KPI counter requests.count is missing from /observe/metrics", count.find(), is(true));
            return Double.parseDouble(count.group(1));
        } finally {
            server.stop();
        }
    }
}
