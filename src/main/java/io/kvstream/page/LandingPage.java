package io.kvstream.page;

import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;

import com.github.mustachejava.DefaultMustacheFactory;
import com.github.mustachejava.Mustache;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.kvstream.auth.Authenticator;
import io.kvstream.domain.Entry;
import io.kvstream.domain.Keys;
import io.kvstream.http.ApiError;
import io.kvstream.http.HeadOrGet;
import io.kvstream.http.QueryParameters;
import io.kvstream.replica.Replica;

/**
 * The landing page {@code /}: the current keys and values from this process's replica at revision R, and a live
 * event log. Its script ({@code /static/landing.js}) opens {@code /events?since=R} on the host the page came from
 * and applies every later change, so the table stays current without a reload.
 * <p>
 * {@code /?prefix=P} shows only the keys starting with P, and the script watches {@code /events?since=R&prefix=P}:
 * the table and the stream are filtered on the server, consistent at revision R. The page's filter input loads it.
 *
 * <pre>
 * curl -i localhost:8080/
 * curl -i 'localhost:8080/?prefix=user:'
 * </pre>
 * Rendered with mustache (every value HTML-escaped); no inline script or style, enforced by the CSP header.
 */
public final class LandingPage implements HttpService {
    public static final int DEFAULT_MAX_KEYS = 1000;
    /** Characters of a value shown in the table; the rest is summarised by its length. */
    static final int VALUE_PREVIEW = 200;
    private static final HeaderName CONTENT_SECURITY_POLICY = HeaderNames.create("Content-Security-Policy");
    private static final HeaderName REFERRER_POLICY = HeaderNames.create("Referrer-Policy");
    private static final Pattern SAFE_HOST = Pattern.compile("[A-Za-z0-9.\\-]{1,253}(:[0-9]{1,5})?|\\[[0-9A-Fa-f:.]{2,45}](:[0-9]{1,5})?");

    private final Replica replica;
    private final Authenticator auth;
    private final int maxKeys;
    private final Mustache template;

    public LandingPage(Replica replica, Authenticator auth) {
        this(replica, auth, DEFAULT_MAX_KEYS);
    }

    public LandingPage(Replica replica, Authenticator auth, int maxKeys) {
        this.replica = replica;
        this.auth = auth;
        this.maxKeys = maxKeys;
        this.template = new DefaultMustacheFactory("templates").compile("index.mustache");
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::page)
                .head("/", this::page)
                .any("/", (req, res) -> {
                    if (req.prologue().method() == Method.OPTIONS) {
                        // A preflight: CORS has its say on it, and no route of the page answers it.
                        res.next();
                        return;
                    }
                    ApiError.methodNotAllowed(req, res, "GET, HEAD");
                });
        rules.register("/static", new StaticAssets());
    }

    /** What the template shows; the rows are consistent with {@code revision}. */
    public record View(long revision, List<Row> rows, int total, boolean truncated, int maxKeys, int preview,
                       String prefix) {
        public boolean empty() {
            return rows.isEmpty();
        }

        public String count() {
            if (truncated) {
                return "first " + rows.size() + " of " + total + " keys";
            }
            return rows.size() == 1 ? "1 key" : rows.size() + " keys";
        }
    }

    /**
     * One key; a long value is cut to {@link #VALUE_PREVIEW} characters and {@code clipped} says so. {@code expires}
     * is the deadline of a value with a time to live (ISO-8601), null for a permanent one; the script counts down to it.
     */
    public record Row(String key, String preview, boolean clipped, int length, long revision, String expires) {
        static Row of(String key, Entry entry) {
            String value = entry.value();
            String preview = LandingPage.preview(value);
            return new Row(key, preview, preview.length() < value.length(), value.length(), entry.modRevision(),
                           entry.expires() == null ? null : entry.expires().toString());
        }
    }

    static String preview(String value) {
        if (value.length() <= VALUE_PREVIEW) {
            return value;
        }
        int end = VALUE_PREVIEW;
        if (Character.isHighSurrogate(value.charAt(end - 1))) {
            end--;
        }
        return value.substring(0, end);
    }

    View view(String prefix) {
        Replica.Page page = replica.list(prefix, null, maxKeys);
        List<Row> rows = page.values().stream().map(e -> Row.of(e.getKey(), e.getValue())).toList();
        boolean truncated = page.next() != null;
        int total = Math.max(replica.size(), rows.size());
        return new View(page.revision(), rows, total, truncated, maxKeys, VALUE_PREVIEW, prefix);
    }

    private void page(ServerRequest req, ServerResponse res) {
        auth.requirePageRead(req, res);
        String prefix;
        try {
            prefix = QueryParameters.givenOnce(req.query(), "prefix")
                     ? Keys.decodeQueryParameter(req.query().getRaw("prefix")) : "";
        } catch (Keys.InvalidKeyException e) {
            ApiError.send(res, Status.BAD_REQUEST_400, "bad_key", e.problem().describe("The parameter prefix"), null,
                          HeadOrGet.withBody(req));
            return;
        } catch (IllegalArgumentException e) {
            ApiError.send(res, Status.BAD_REQUEST_400, "bad_key", e.getMessage(), null, HeadOrGet.withBody(req));
            return;
        }
        StringWriter html = new StringWriter();
        template.execute(html, view(prefix));
        res.header(HeaderNames.CONTENT_TYPE, "text/html; charset=UTF-8");
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        res.header(CONTENT_SECURITY_POLICY,
                   contentSecurityPolicy(req.headers().first(HeaderNames.HOST).orElse("")));
        securityHeaders(res);
        HeadOrGet.send(res, html.toString().getBytes(StandardCharsets.UTF_8), HeadOrGet.withBody(req));
    }

    /**
     * Scripts, styles and images only from this origin, nothing inline; WebSocket only back to the host the page
     * came from ({@code 'self'} covers it in current browsers, the explicit ws/wss source in older ones).
     */
    static String contentSecurityPolicy(String host) {
        String connect = SAFE_HOST.matcher(host).matches() ? "'self' ws://" + host + " wss://" + host : "'self'";
        return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src " + connect
               + "; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    }

    static void securityHeaders(ServerResponse res) {
        res.header(HeaderNames.X_CONTENT_TYPE_OPTIONS, "nosniff");
        res.header(REFERRER_POLICY, "no-referrer");
    }
}
