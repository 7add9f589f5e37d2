package io.kvstream.config;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

import io.helidon.config.Config;
import io.helidon.config.ConfigException;

/**
 * Everything kvstream reads from the {@code kvstream} config node, read once at start-up and passed through
 * constructors so every dependency is visible where it is used. Every default is written in
 * {@code application.yaml} and nowhere else: a key missing from the configuration is an error here, not a
 * silent fallback. Only the settings that have no default (URLs, credentials, the JWT secret) may be absent.
 */
public record Settings(Role role,
                       Mode mode,
                       String dataDir,
                       int maxValueBytes,
                       Duration commandTimeout,
                       Db db,
                       Amqp amqp,
                       int workerBatchSize,
                       Events events,
                       Ws ws,
                       Auth auth,
                       Cors cors,
                       boolean replicaEndpoint,
                       Http http) {

    public enum Role {
        /** {@code migrate}: brings the database schema up to date and exits (a Kubernetes Job). */
        API, WORKER, WEBSOCKET, ALL, MIGRATE;

        public boolean servesApi() {
            return this == API || this == ALL;
        }

        public boolean servesEvents() {
            return this == WEBSOCKET || this == ALL;
        }

        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Role parse(String text) {
            return parseConfigName("kvstream.role", text, values(), Role::configName);
        }
    }

    /**
     * The constant of {@code values} whose config name is {@code text} (trimmed, in any case); otherwise an error that
     * names setting {@code key} and every name it takes.
     */
    private static <E extends Enum<E>> E parseConfigName(String key, String text, E[] values,
                                                         Function<E, String> configName) {
        String wanted = text.trim().toLowerCase(Locale.ROOT);
        for (E value : values) {
            if (configName.apply(value).equals(wanted)) {
                return value;
            }
        }
        List<String> names = Arrays.stream(values).map(configName).toList();
        String choices = String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.getLast();
        throw new IllegalArgumentException(key + " must be " + choices + ", not '" + text + "'");
    }

    public enum Mode { DEV, PROD }

    /**
     * JDBC settings; {@code url} empty means "not configured" (dev mode may then embed a server). {@code migrations}:
     * whether this process brings the schema up to date itself; {@code connections}: how a dead or stalled connection
     * is noticed.
     */
    public record Db(String url, String username, String password, String schema, int poolSize, Migrations migrations,
                     Connections connections) {
        public boolean configured() {
            return !url.isBlank();
        }

        public Db withUrl(String url, String username, String password) {
            return new Db(url, username, password, schema, poolSize, migrations, connections);
        }

        public Db withSchema(String schema) {
            return new Db(url, username, password, schema, poolSize, migrations, connections);
        }

        public Db withMigrations(Migrations migrations) {
            return new Db(url, username, password, schema, poolSize, migrations, connections);
        }

        public Db withConnections(Connections connections) {
            return new Db(url, username, password, schema, poolSize, migrations, connections);
        }
    }

    /**
     * Schema migrations (Flyway). {@code atStart}: each process migrates the schema as it starts (the all-in-one
     * default); otherwise a separate {@code migrate} run does, as the schema's owner, and a process waits up to
     * {@code await} for the schema to be current before it gives up. {@code appRole}: the database role the
     * migrations grant kvstream's runtime privileges (DML only) to; empty grants nothing.
     */
    public record Migrations(boolean atStart, String appRole, Duration await) {
    }

    /**
     * How connections to PostgreSQL fail fast: {@code connectTimeout} to open one, {@code socketTimeout} for any read
     * (a query, or a stalled connection, that waits longer breaks it), {@code keepalive} for the server's TCP probes of
     * an idle client, and {@code idleSessionTimeout}, after which the server ends a silent session that holds a lock: the
     * relay's lead session, so the lead passes to another worker, and a session idle inside a transaction.
     */
    public record Connections(Duration connectTimeout, Duration socketTimeout, Duration keepalive,
                              Duration idleSessionTimeout) {
    }

    /**
     * Broker settings; exchange and queue names all start with {@code namePrefix}. {@code publicEvents}: besides the
     * batches kvstream's own processes read, publish every event as its own message on the documented events
     * exchange, for consumers outside kvstream, while a queue is bound there. {@code commandQueueType}: the kind of
     * queue the commands wait in; {@code syncCommandLane}: where the commands someone waits for go.
     */
    public record Amqp(String uri, String namePrefix, boolean publicEvents, QueueType commandQueueType,
                       SyncCommandLane syncCommandLane) {
        public boolean configured() {
            return !uri.isBlank();
        }

        public Amqp withUri(String uri) {
            return new Amqp(uri, namePrefix, publicEvents, commandQueueType, syncCommandLane);
        }

        public Amqp withNamePrefix(String namePrefix) {
            return new Amqp(uri, namePrefix, publicEvents, commandQueueType, syncCommandLane);
        }

        public Amqp withPublicEvents(boolean publicEvents) {
            return new Amqp(uri, namePrefix, publicEvents, commandQueueType, syncCommandLane);
        }

        public Amqp withCommandQueueType(QueueType commandQueueType) {
            return new Amqp(uri, namePrefix, publicEvents, commandQueueType, syncCommandLane);
        }

        public Amqp withSyncCommandLane(SyncCommandLane syncCommandLane) {
            return new Amqp(uri, namePrefix, publicEvents, commandQueueType, syncCommandLane);
        }
    }

    /**
     * RabbitMQ's queue types: a classic queue lives on one broker node; a quorum queue is replicated (Raft) to a
     * majority of a cluster's nodes before the broker confirms a message, so it survives the loss of a node.
     */
    public enum QueueType {
        CLASSIC, QUORUM;

        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }

        static QueueType parse(String text) {
            return parseConfigName("kvstream.amqp.command-queue-type", text, values(), QueueType::configName);
        }
    }

    /**
     * Where synchronous commands (the caller waits for the outcome) travel. {@code SHARED_QUEUE}: the command queue,
     * like every command. {@code WORKER_QUEUES}: a random exchange spreads them over the workers' own unreplicated
     * queues, which is cheaper than a quorum command queue; a command lost with its worker or broker node times out
     * for its caller ("may still apply"), which a synchronous write may do anyway. Commands nobody waits for always
     * take the command queue.
     */
    public enum SyncCommandLane {
        SHARED_QUEUE, WORKER_QUEUES;

        public String configName() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        static SyncCommandLane parse(String text) {
            return parseConfigName("kvstream.amqp.sync-command-lane", text, values(), SyncCommandLane::configName);
        }
    }

    /**
     * The stored event log: {@code retention} revisions are kept (etcd-style compaction by revision count), and the
     * relay compacts each time {@code compactionInterval} more revisions have been relayed.
     */
    public record Events(long retention, long compactionInterval) {
    }

    /**
     * The {@code /events} sessions: at most {@code queueSize} messages and {@code maxBufferedBytes} bytes of them wait
     * for one client (its replay pages are read within the same byte bound), and {@code maxTotalBufferedBytes} for all
     * of them together; a slower client is dropped. At most {@code maxReplays} clients replay at once.
     */
    public record Ws(int queueSize, long maxBufferedBytes, long maxTotalBufferedBytes, int maxReplays, Duration heartbeat,
                     String allowedOrigins) {
    }

    /**
     * JWT settings; an empty secret means writes need no token. {@code requireScope}: a token without a scope claim
     * may do nothing (otherwise it may do everything); {@code requireExpiry}: a token without {@code exp} is refused.
     */
    public record Auth(String jwtSecret, String issuer, String audience, Duration clockSkew, boolean protectReads,
                       boolean requireScope, boolean requireExpiry) {
        public boolean enabled() {
            return !jwtSecret.isBlank();
        }
    }

    /**
     * How long a client may take to send a request: its headers within {@code headerTimeout} of its request line,
     * its body within {@code bodyTimeout} of its headers (until it is answered); a slower connection is closed. The
     * request bodies held at once, across all clients, are at most {@code maxTotalBodyBytes}.
     */
    public record Http(Duration headerTimeout, Duration bodyTimeout, long maxTotalBodyBytes) {
    }

    /**
     * Cross-origin access for browser apps: the origins ({@code scheme://host[:port]}) that may call the API; none
     * means CORS is off.
     */
    public record Cors(Set<String> allowedOrigins) {
        public Cors {
            allowedOrigins = Set.copyOf(allowedOrigins);
        }

        public boolean enabled() {
            return !allowedOrigins.isEmpty();
        }
    }

    /** Reads the {@code kvstream} node of {@code root}; a value that does not parse is an {@link IllegalArgumentException}. */
    public static Settings from(Config root) {
        Config kv = root.get("kvstream");
        Config db = kv.get("db");
        Config amqp = kv.get("amqp");
        Config events = kv.get("events");
        Config ws = kv.get("ws");
        Config auth = kv.get("auth");
        Config http = kv.get("http");
        try {
            return new Settings(
                    Role.parse(kv.get("role").asString().get()),
                    Mode.valueOf(kv.get("mode").asString().get().trim().toUpperCase(Locale.ROOT)),
                    kv.get("data-dir").asString().get(),
                    kv.get("max-value-bytes").asInt().get(),
                    duration(kv.get("command-timeout")),
                    new Db(unlessSet(db.get("url")),
                           unlessSet(db.get("username")),
                           unlessSet(db.get("password")),
                           db.get("schema").asString().get(),
                           db.get("pool-size").asInt().get(),
                           new Migrations(db.get("migrate").asBoolean().get(),
                                          db.get("app-role").asString().get(),
                                          duration(db.get("migration-wait"))),
                           new Connections(duration(db.get("connect-timeout")),
                                           duration(db.get("socket-timeout")),
                                           duration(db.get("keepalive")),
                                           duration(db.get("idle-session-timeout")))),
                    new Amqp(unlessSet(amqp.get("uri")),
                             amqp.get("name-prefix").asString().get(),
                             amqp.get("public-events").asBoolean().get(),
                             QueueType.parse(amqp.get("command-queue-type").asString().get()),
                             SyncCommandLane.parse(amqp.get("sync-command-lane").asString().get())),
                    kv.get("worker.batch-size").asInt().get(),
                    new Events(events.get("retention").asLong().get(),
                               events.get("compaction-interval").asLong().get()),
                    new Ws(ws.get("queue-size").asInt().get(),
                           ws.get("max-buffered-bytes").asLong().get(),
                           ws.get("max-total-buffered-bytes").asLong().get(),
                           ws.get("max-replays").asInt().get(),
                           duration(ws.get("heartbeat")),
                           ws.get("allowed-origins").asString().get()),
                    new Auth(unlessSet(auth.get("jwt-secret")),
                             auth.get("issuer").asString().get(),
                             auth.get("audience").asString().get(),
                             duration(auth.get("clock-skew")),
                             auth.get("protect-reads").asBoolean().get(),
                             auth.get("require-scope").asBoolean().get(),
                             auth.get("require-expiry").asBoolean().get()),
                    new Cors(commaSeparated(kv.get("cors.allowed-origins").asString().get())),
                    kv.get("replica-endpoint").asBoolean().get(),
                    new Http(duration(http.get("header-timeout")), duration(http.get("body-timeout")),
                             http.get("max-total-body-bytes").asLong().get()));
        } catch (ConfigException e) {
            throw new IllegalArgumentException("Invalid configuration: " + e.getMessage(), e);
        }
    }

    /** The entries of a comma-separated list, trimmed, without empty ones. */
    public static Set<String> commaSeparated(String text) {
        return Arrays.stream(text.split(","))
                .map(String::trim)
                .filter(s -> !s.isEmpty())
                .collect(Collectors.toUnmodifiableSet());
    }

    /** A setting with no default (a URL, a credential, the JWT secret): empty when not configured. */
    private static String unlessSet(Config node) {
        return node.asString().orElse("");
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** A copy with some settings changed: {@code settings.toBuilder().role(Role.API).build()}. */
    public static final class Builder {
        private Role role;
        private Mode mode;
        private String dataDir;
        private int maxValueBytes;
        private Duration commandTimeout;
        private Db db;
        private Amqp amqp;
        private int workerBatchSize;
        private Events events;
        private Ws ws;
        private Auth auth;
        private Cors cors;
        private boolean replicaEndpoint;
        private Http http;

        private Builder(Settings from) {
            role = from.role;
            mode = from.mode;
            dataDir = from.dataDir;
            maxValueBytes = from.maxValueBytes;
            commandTimeout = from.commandTimeout;
            db = from.db;
            amqp = from.amqp;
            workerBatchSize = from.workerBatchSize;
            events = from.events;
            ws = from.ws;
            auth = from.auth;
            cors = from.cors;
            replicaEndpoint = from.replicaEndpoint;
            http = from.http;
        }

        public Builder role(Role role) {
            this.role = role;
            return this;
        }

        public Builder maxValueBytes(int maxValueBytes) {
            this.maxValueBytes = maxValueBytes;
            return this;
        }

        public Builder db(Db db) {
            this.db = db;
            return this;
        }

        public Builder amqp(Amqp amqp) {
            this.amqp = amqp;
            return this;
        }

        public Builder events(Events events) {
            this.events = events;
            return this;
        }

        public Builder ws(Ws ws) {
            this.ws = ws;
            return this;
        }

        public Builder auth(Auth auth) {
            this.auth = auth;
            return this;
        }

        public Builder cors(Cors cors) {
            this.cors = cors;
            return this;
        }

        public Builder replicaEndpoint(boolean replicaEndpoint) {
            this.replicaEndpoint = replicaEndpoint;
            return this;
        }

        public Builder http(Http http) {
            this.http = http;
            return this;
        }

        public Settings build() {
            return new Settings(role, mode, dataDir, maxValueBytes, commandTimeout, db, amqp, workerBatchSize,
                                events, ws, auth, cors, replicaEndpoint, http);
        }
    }

    /** Accepts ISO-8601 ({@code PT5S}) and the short forms operators type ({@code 5s}, {@code 500ms}, {@code 2m}). */
    private static Duration duration(Config node) {
        return parseDuration(node.asString().get().trim());
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
