package io.kvstream.page;

import java.util.function.Predicate;

import io.helidon.http.HeaderNames;
import io.helidon.http.HttpException;
import io.helidon.http.HttpPrologue;
import io.helidon.http.Method;
import io.helidon.http.PathMatchers;
import io.helidon.http.ServerRequestHeaders;
import io.helidon.http.Status;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRoute;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.helidon.webserver.staticcontent.ClasspathHandlerConfig;
import io.helidon.webserver.staticcontent.StaticContentFeature;

/**
 * The landing page's script, stylesheet and icon, shipped in the jar under {@code web/} and served at
 * {@code /static/<name>} by Helidon's classpath static content: no build step, no CDN. Only the {@code web/} root is
 * served (nothing else on the classpath is reachable); its three files are read into memory at start-up. Browsers
 * revalidate on each load ({@code Cache-Control: no-cache}) with the ETag, which Helidon derives from the jar's
 * modification time, so a new release is picked up at once.
 * <p>
 * Helidon answers a revalidation by throwing a 304 {@link HttpException}, and an unknown file by passing the request
 * on; both are answered here, plainly, so the API's JSON error handlers never see a request for a static file.
 */
final class StaticAssets implements HttpService {
    private static final Predicate<Method> GET_OR_HEAD = Method.predicate(Method.GET, Method.HEAD);

    private final HttpService files = StaticContentFeature.createService(ClasspathHandlerConfig.builder()
            .location("web")
            .addCachedFile("landing.js")
            .addCachedFile("landing.css")
            .addCachedFile("favicon.svg")
            .build());

    @Override
    public void routing(HttpRules rules) {
        rules.route(GET_OR_HEAD, PathMatchers.any(), StaticAssets::headers);
        files.routing(new NotModifiedAnswered(rules));
        rules.route(GET_OR_HEAD, PathMatchers.any(), (req, res) -> res.status(Status.NOT_FOUND_404).send());
    }

    @Override
    public void beforeStart() {
        files.beforeStart();
    }

    @Override
    public void afterStop() {
        files.afterStop();
    }

    private static void headers(ServerRequest req, ServerResponse res) {
        LandingPage.securityHeaders(res);
        res.header(HeaderNames.CACHE_CONTROL, "no-cache");
        res.next();
    }

    /** Helidon's static content routes, each answering its 304 itself instead of through the error handlers. */
    private record NotModifiedAnswered(HttpRules rules) implements HttpRules {
        @Override
        public HttpRules route(HttpRoute route) {
            Handler handler = (req, res) -> {
                try {
                    route.handler().handle(req, res);
                } catch (HttpException e) {
                    if (e.status().code() != Status.NOT_MODIFIED_304.code()) {
                        throw e;
                    }
                    e.headers().forEach(res::header);
                    res.status(Status.NOT_MODIFIED_304).send();
                }
            };
            rules.route(new HttpRoute() {
                @Override
                public PathMatchers.MatchResult accepts(HttpPrologue prologue) {
                    return route.accepts(prologue);
                }

                @Override
                public PathMatchers.MatchResult accepts(HttpPrologue prologue, ServerRequestHeaders headers) {
                    return route.accepts(prologue, headers);
                }

                @Override
                public Handler handler() {
                    return handler;
                }
            });
            return this;
        }

        @Override
        public HttpRules register(HttpService... services) {
            throw new UnsupportedOperationException("static content registers routes only");
        }

        @Override
        public HttpRules register(String pathPattern, HttpService... services) {
            throw new UnsupportedOperationException("static content registers routes only");
        }
    }
}
