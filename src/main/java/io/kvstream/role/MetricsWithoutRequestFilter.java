package io.kvstream.role;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

import io.helidon.webserver.http.HttpFeature;
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
 * <p>
 * No setting of Helidon 4.5.0 leaves the filter out: {@code MetricsFeature.configureVendorMetrics} adds it whenever
 * the observer is enabled; {@code metrics.key-performance-indicators.extended} only picks which meters it updates,
 * {@code metrics.rest-request.enabled} is another feature, and {@code metrics.enabled: false} disables the meters,
 * not the filter. {@code MetricsWithoutRequestFilterTest} fails on a Helidon upgrade so this is checked again.
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

    /**
     * The same routing builder, except that filters added through it are left out. The observer adds its routes
     * as an {@link HttpFeature} set up later with the real builder, so features get the same treatment.
     */
    private static HttpRouting.Builder withoutFilters(HttpRouting.Builder routing) {
        return (HttpRouting.Builder) Proxy.newProxyInstance(
                HttpRouting.Builder.class.getClassLoader(), new Class<?>[] {HttpRouting.Builder.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "addFilter" -> proxy;
                    case "addFeature" -> {
                        routing.addFeature(withoutFilters(((Supplier<? extends HttpFeature>) args[0]).get()));
                        yield proxy;
                    }
                    default -> {
                        Object result = invoke(method, routing, args);
                        yield result == routing ? proxy : result;
                    }
                });
    }

    private static HttpFeature withoutFilters(HttpFeature feature) {
        return (HttpFeature) Proxy.newProxyInstance(
                HttpFeature.class.getClassLoader(), new Class<?>[] {HttpFeature.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "setup" -> {
                        feature.setup(withoutFilters((HttpRouting.Builder) args[0]));
                        yield null;
                    }
                    case "get" -> proxy;
                    default -> invoke(method, feature, args);
                });
    }

    private static Object invoke(Method method, Object target, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
