package io.kvstream;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

import io.helidon.config.Config;

/**
 * Everything kvstream reads from the {@code kvstream} config node, read once at start-up and passed
 * through constructors so every dependency is visible where it is used.
 */
public record Settings(Role role,
                       Mode mode,
                       String dataDir,
                       int maxValueBytes,
                       Duration commandTimeout,
                       Db db,
                       Amqp amqp,
                       int workerBatchSize,
                       long eventRetention,
                       Ws ws,
                       Auth auth) {

    public enum Role {
        API, WORKER, WEBSOCKET, ALL;

        public boolean servesApi() {
            return this == API || this == ALL;
        }

        public boolean runsWorker() {
            return this == WORKER || this == ALL;
        }

        public boolean servesEvents() {
            return this == WEBSOCKET || this == ALL;
        }

        static Role parse(String text) {
            try {
                return valueOf(text.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("kvstream.role must be api, worker, websocket or all, not '" + text + "'");
            }
        }
    }

    public enum Mode { DEV, PROD }

    /** JDBC settings; {@code url} empty means "not configured" (dev mode may then embed a server). */
    public record Db(String url, String username, String password, String schema, int poolSize) {
        public boolean configured() {
            return !url.isBlank();
        }

        public Db withUrl(String url, String username, String password) {
            return new Db(url, username, password, schema, poolSize);
        }

        public Db withSchema(String schema) {
            return new Db(url, username, password, schema, poolSize);
        }
    }

    /**
     * Broker settings; exchange and queue names all start with {@code namePrefix}. {@code publicEvents}: besides the
     * batches kvstream's own processes read, publish every event as its own message on the documented events
     * exchange, for consumers outside kvstream.
     */
    public record Amqp(String uri, String namePrefix, boolean publicEvents) {
        public boolean configured() {
            return !uri.isBlank();
        }

        public Amqp withUri(String uri) {
            return new Amqp(uri, namePrefix, publicEvents);
        }

        public Amqp withPublicEvents(boolean publicEvents) {
            return new Amqp(uri, namePrefix, publicEvents);
        }

        public String commandQueue() {
            return namePrefix + ".commands";
        }

        /** The documented wire format: one domain event per message. */
        public String eventsExchange() {
            return namePrefix + ".events";
        }

        /** kvstream's own replication feed: one message per committed batch, a JSON array of domain events. */
        public String eventBatchesExchange() {
            return namePrefix + ".event-batches";
        }

        public String presenceExchange() {
            return namePrefix + ".presence";
        }
    }

    public record Ws(int queueSize, Duration heartbeat, String allowedOrigins) {
    }

    /** JWT settings; an empty secret means writes need no token. */
    public record Auth(String jwtSecret, String issuer, String audience, Duration clockSkew, boolean protectReads) {
        public boolean enabled() {
            return !jwtSecret.isBlank();
        }
    }

    public static Settings from(Config root) {
        Config kv = root.get("kvstream");
        Config db = kv.get("db");
        Config amqp = kv.get("amqp");
        Config ws = kv.get("ws");
        Config auth = kv.get("auth");
        return new Settings(
                Role.parse(kv.get("role").asString().orElse("all")),
                Mode.valueOf(kv.get("mode").asString().orElse("dev").trim().toUpperCase(Locale.ROOT)),
                kv.get("data-dir").asString().orElse("./data"),
                kv.get("max-value-bytes").asInt().orElse(1024 * 1024),
                duration(kv.get("command-timeout"), Duration.ofSeconds(5)),
                new Db(db.get("url").asString().orElse(""),
                       db.get("username").asString().orElse(""),
                       db.get("password").asString().orElse(""),
                       db.get("schema").asString().orElse(""),
                       db.get("pool-size").asInt().orElse(8)),
                new Amqp(amqp.get("uri").asString().orElse(""),
                         amqp.get("name-prefix").asString().orElse("kvstream"),
                         amqp.get("public-events").asBoolean().orElse(true)),
                kv.get("worker.batch-size").asInt().orElse(256),
                kv.get("events.retention").asLong().orElse(100_000L),
                new Ws(ws.get("queue-size").asInt().orElse(1024),
                       duration(ws.get("heartbeat"), Duration.ofSeconds(20)),
                       ws.get("allowed-origins").asString().orElse("")),
                new Auth(auth.get("jwt-secret").asString().orElse(""),
                         auth.get("issuer").asString().orElse(""),
                         auth.get("audience").asString().orElse(""),
                         duration(auth.get("clock-skew"), Duration.ofSeconds(30)),
                         auth.get("protect-reads").asBoolean().orElse(false)));
    }

    public Settings withRole(Role role) {
        return new Settings(role, mode, dataDir, maxValueBytes, commandTimeout, db, amqp, workerBatchSize,
                            eventRetention, ws, auth);
    }

    public Settings withDb(Db db) {
        return new Settings(role, mode, dataDir, maxValueBytes, commandTimeout, db, amqp, workerBatchSize,
                            eventRetention, ws, auth);
    }

    public Settings withAmqp(Amqp amqp) {
        return new Settings(role, mode, dataDir, maxValueBytes, commandTimeout, db, amqp, workerBatchSize,
                            eventRetention, ws, auth);
    }

    public Settings withAuth(Auth auth) {
        return new Settings(role, mode, dataDir, maxValueBytes, commandTimeout, db, amqp, workerBatchSize,
                            eventRetention, ws, auth);
    }

    public Settings withWs(Ws ws) {
        return new Settings(role, mode, dataDir, maxValueBytes, commandTimeout, db, amqp, workerBatchSize,
                            eventRetention, ws, auth);
    }

    public Settings withLimits(int maxValueBytes, long eventRetention) {
        return new Settings(role, mode, dataDir, maxValueBytes, commandTimeout, db, amqp, workerBatchSize,
                            eventRetention, ws, auth);
    }

    /** Accepts ISO-8601 ({@code PT5S}) and the short forms operators type ({@code 5s}, {@code 500ms}, {@code 2m}). */
    static Duration duration(Config node, Duration defaultValue) {
        Optional<String> text = node.asString().asOptional();
        if (text.isEmpty() || text.get().isBlank()) {
            return defaultValue;
        }
        return parseDuration(text.get().trim());
    }

    public static Duration parseDuration(String text) {
        String t = text.toLowerCase(Locale.ROOT);
        try {
            if (t.startsWith("p")) {
                return Duration.parse(text.toUpperCase(Locale.ROOT));
            }
            if (t.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
            }
            long amount = Long.parseLong(t.substring(0, t.length() - 1));
            return switch (t.charAt(t.length() - 1)) {
                case 's' -> Duration.ofSeconds(amount);
                case 'm' -> Duration.ofMinutes(amount);
                case 'h' -> Duration.ofHours(amount);
                default -> Duration.ofMillis(Long.parseLong(t));
            };
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("Not a duration: '" + text + "' (use e.g. PT5S, 5s or 500ms)");
        }
    }
}
