package io.kvstream.page;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.stream.Collectors;

import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * The landing page's script, stylesheet and icon, shipped in the jar under {@code web/} and served at
 * {@code /static/<name>}: no build step, no CDN. A fixed allow-list read once at start-up (nothing else on the
 * classpath is reachable); browsers revalidate on each load with the ETag, so a new release is picked up at once.
 * Answers 304 and 404 itself rather than through exceptions, so the API's error mapping never sees them.
 */
final class StaticAssets implements HttpService {
    private static final Map<String, String> TYPES = Map.of(
            "landing.js", "text/javascript; charset=UTF-8",
            "landing.css", "text/css; charset=UTF-8",
            "favicon.svg", "image/svg+xml");

    private record Asset(byte[] body, String contentType, String etag) {
    }

    private final Map<String, Asset> assets = TYPES.entrySet().stream()
            .collect(Collectors.toUnmodifiableMap(Map.Entry::getKey, e -> load(e.getKey(), e.getValue())));

    @Override
    public void routing(HttpRules rules) {
        rules.get("/*", this::serve);
    }

    private void serve(ServerRequest req, ServerResponse res) {
        String path = req.path().path();
        Asset asset = assets.get(path.substring(path.lastIndexOf('/') + 1));
        LandingPage.securityHeaders(res);
        if (asset == null) {
            res.status(Status.NOT_FOUND_404).send();
            return;
        }
        res.header(HeaderNames.ETAG, asset.etag());
        res.header(HeaderNames.CACHE_CONTROL, "no-cache");
        String ifNoneMatch = req.headers().first(HeaderNames.IF_NONE_MATCH).orElse("");
        if (ifNoneMatch.equals("*") || ifNoneMatch.contains(asset.etag())) {
            res.status(Status.NOT_MODIFIED_304).send();
            return;
        }
        res.header(HeaderNames.CONTENT_TYPE, asset.contentType());
        res.send(asset.body());
    }

    private static Asset load(String name, String contentType) {
        try (InputStream in = StaticAssets.class.getClassLoader().getResourceAsStream("web/" + name)) {
            if (in == null) {
                throw new IllegalStateException("web/" + name + " is missing from the jar");
            }
            byte[] body = in.readAllBytes();
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(body);
            return new Asset(body, contentType, "\"" + HexFormat.of().formatHex(hash, 0, 8) + "\"");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
