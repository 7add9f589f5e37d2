package io.kvstream;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.function.UnaryOperator;

import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.observe.ObserverConfigBase;
import io.helidon.webserver.observe.metrics.MetricsObserver;
import io.helidon.webserver.observe.spi.Observer;
import io.helidon.webserver.spi.ServerFeature;

/**
 * Helidon's metrics observer ({@code /observe/metrics}) without the routing filter it adds for its per-request
 * "key performance indicator" meters. That filter makes every request build a request context and update shared
 * meters: 10% of the CPU of {@code GET /values/{key}} (bench/results/profile). kvstream's own meters count what an
 * operator needs (writes by outcome, rejected requests by reason, replica lag, WebSocket sessions).
 */
final class MetricsWithoutRequestFilter implements Observer {
    private final MetricsObserver metrics = MetricsObserver.create();

    @Override
    public ObserverConfigBase prototype() {
        return metrics.prototype();
    }

    @Override
    public String type() {
        return metrics.type();
    }

    @Override
    public String name() {
        return metrics.name();
    }

    @Override
    public void register(ServerFeature.ServerFeatureContext context, List<HttpRouting.Builder> routings,
                         UnaryOperator<String> endpoint) {
        metrics.register(context, routings.stream().map(MetricsWithoutRequestFilter::withoutFilters).toList(), endpoint);
    }

    /** The same routing builder, except that filters added through it are left out. */
    private static HttpRouting.Builder withoutFilters(HttpRouting.Builder routing) {
        return (HttpRouting.Builder) Proxy.newProxyInstance(
                HttpRouting.Builder.class.getClassLoader(), new Class<?>[] {HttpRouting.Builder.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("addFilter")) {
                        return proxy;
                    }
                    try {
                        Object result = method.invoke(routing, args);
                        return result == routing ? proxy : result;
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
