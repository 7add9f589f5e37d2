package io.kvstream.auth;

import java.lang.System.Logger.Level;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import com.auth0.jwt.JWT;
import com.auth0.jwt.JWTVerifier;
import com.auth0.jwt.algorithms.Algorithm;
import com.auth0.jwt.exceptions.IncorrectClaimException;
import com.auth0.jwt.exceptions.JWTVerificationException;
import com.auth0.jwt.exceptions.TokenExpiredException;
import com.auth0.jwt.interfaces.Claim;
import com.auth0.jwt.interfaces.DecodedJWT;
import com.auth0.jwt.interfaces.Verification;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.kvstream.config.Settings;

/**
 * Bearer-token checks for writes (and reads when configured), shared by the API, the landing page and the stream: an HS256 JWT signed with
 * {@code kvstream.auth.jwt-secret}, unexpired and already valid ({@code exp}, {@code nbf}, with the configured
 * clock skew), with the configured issuer and audience. No token or a bad one is 401; a good token whose
 * {@code scope} claim lacks the needed scope ({@code kvstream:write} / {@code kvstream:read}) is 403. A token
 * with no scope claim may do both. Tokens are never logged.
 */
public final class Authenticator {
    public static final String WRITE = "kvstream:write";
    public static final String READ = "kvstream:read";
    private static final System.Logger LOG = System.getLogger(Authenticator.class.getName());

    private final JWTVerifier verifier;
    private final boolean protectReads;
    private final boolean requireScope;

    public Authenticator(Settings.Auth auth) {
        this.requireScope = auth.requireScope();
        if (!auth.enabled()) {
            this.verifier = null;
            this.protectReads = false;
            return;
        }
        Verification verification = JWT.require(Algorithm.HMAC256(auth.jwtSecret()))
                .acceptLeeway(auth.clockSkew().toSeconds());
        if (!auth.issuer().isBlank()) {
            verification.withIssuer(auth.issuer());
        }
        if (!auth.audience().isBlank()) {
            verification.withAudience(auth.audience());
        }
        if (auth.requireExpiry()) {
            verification.withClaimPresence("exp");
        }
        this.verifier = verification.build();
        this.protectReads = auth.protectReads();
    }

    public void requireWrite(ServerRequest req, ServerResponse res) {
        require(req, res, WRITE);
    }

    public void requireRead(ServerRequest req, ServerResponse res) {
        if (protectReads) {
            require(req, res, READ);
        }
    }

    /**
     * For the landing page, which shows values: with {@code protect-reads} it needs a read token like
     * {@code GET /values}, as a header or, since a browser cannot set one on a navigation, as the
     * {@code access_token} query parameter (RFC 6750 §2.3), which the page's script reuses for {@code /events}.
     * A refused {@code /events} upgrade is answered through the same check.
     */
    public void requirePageRead(ServerRequest req, ServerResponse res) {
        if (!protectReads) {
            return;
        }
        Optional<String> authorization = authorization(req);
        checkOrChallenge(authorization.isPresent() ? authorization
                                 : req.query().first("access_token").asOptional().map(token -> "Bearer " + token),
                         READ, res);
    }

    /**
     * For the {@code /events} upgrade, where browsers cannot set headers: the token may come as
     * {@code Authorization: Bearer} or as the {@code access_token} query parameter (RFC 6750 §2.3).
     */
    public boolean allowsStream(Optional<String> authorization, Optional<String> accessToken) {
        if (!protectReads) {
            return true;
        }
        try {
            check(authorization.isPresent() ? authorization : accessToken.map(token -> "Bearer " + token), READ);
            return true;
        } catch (AuthException e) {
            return false;
        }
    }

    private void require(ServerRequest req, ServerResponse res, String scope) {
        if (verifier != null) {
            checkOrChallenge(authorization(req), scope, res);
        }
    }

    /**
     * The request's one {@code Authorization} header, if any. Two are refused: a proxy that keeps the other one would
     * have checked another token than this server does.
     */
    private static Optional<String> authorization(ServerRequest req) {
        if (req.headers().all(HeaderNames.AUTHORIZATION, List::of).size() > 1) {
            throw new AuthException(Status.BAD_REQUEST_400, "invalid_request", "Send one Authorization header");
        }
        return req.headers().first(HeaderNames.AUTHORIZATION);
    }

    /** A 401 tells the client how to authenticate (RFC 6750 §3). */
    private void checkOrChallenge(Optional<String> authorization, String scope, ServerResponse res) {
        try {
            check(authorization, scope);
        } catch (AuthException e) {
            if (e.status() == Status.UNAUTHORIZED_401) {
                res.header(HeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"kvstream\", error=\"invalid_token\"");
            }
            throw e;
        }
    }

    private void check(Optional<String> authorization, String scope) {
        if (verifier == null) {
            return;
        }
        String header = authorization.orElse("").trim();
        if (header.isEmpty()) {
            throw new AuthException(Status.UNAUTHORIZED_401, "unauthorized", "A bearer token is required");
        }
        if (header.length() < 8 || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new AuthException(Status.UNAUTHORIZED_401, "unauthorized", "Authorization must be 'Bearer <JWT>'");
        }
        DecodedJWT jwt;
        try {
            jwt = verifier.verify(header.substring(7).trim());
        } catch (TokenExpiredException e) {
            throw new AuthException(Status.UNAUTHORIZED_401, "token_expired", "The token has expired");
        } catch (IncorrectClaimException e) {
            throw new AuthException(Status.UNAUTHORIZED_401, "invalid_token",
                                   "The token's " + e.getClaimName() + " claim is not accepted");
        } catch (JWTVerificationException | IllegalArgumentException e) {
            LOG.log(Level.DEBUG, "Token rejected: " + e.getClass().getSimpleName());
            throw new AuthException(Status.UNAUTHORIZED_401, "invalid_token", "The token is not valid");
        }
        if (!jwt.getHeaderClaim("crit").isMissing()) {
            // RFC 7515 §4.1.11: extensions named critical must be understood, and this server understands none.
            throw new AuthException(Status.UNAUTHORIZED_401, "invalid_token",
                                    "The token names critical header extensions this server does not understand");
        }
        for (String time : List.of("exp", "nbf", "iat")) {
            // A null passes the verifier's checks unseen: a token with "exp": null would never expire.
            if (jwt.getClaim(time).isNull()) {
                throw new AuthException(Status.UNAUTHORIZED_401, "invalid_token",
                                        "The token's " + time + " claim must be a NumericDate");
            }
        }
        Optional<List<String>> scopes = scopes(jwt.getClaim("scope"));
        if (scopes.isEmpty() && requireScope || scopes.isPresent() && !scopes.get().contains(scope)) {
            throw new AuthException(Status.FORBIDDEN_403, "forbidden", "The token lacks the scope " + scope);
        }
    }

    /**
     * The token's scopes: a space-separated string (RFC 8693) or an array of strings (as several issuers send it);
     * empty when the claim is absent. Any other type is refused: a token is never unscoped by accident.
     */
    private static Optional<List<String>> scopes(Claim claim) {
        if (claim.isMissing()) {
            return Optional.empty();
        }
        Object value = claim.isNull() ? null : claim.as(Object.class);
        if (value instanceof String text) {
            return Optional.of(Arrays.stream(text.split(" ")).filter(s -> !s.isEmpty()).toList());
        }
        if (value instanceof List<?> list && list.stream().allMatch(String.class::isInstance)) {
            return Optional.of(list.stream().map(String.class::cast).toList());
        }
        throw new AuthException(Status.UNAUTHORIZED_401, "invalid_token",
                                "The token's scope claim must be a string or an array of strings");
    }
}
