package io.kvstream.api;

import java.util.concurrent.Semaphore;

import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.kvstream.replica.Replica;
import io.kvstream.storage.SnapshotReader;
import io.kvstream.wire.Json;

/**
 * For operators: proves this pod's replica equals the database. Served only with {@code kvstream.replica-endpoint}
 * (the Ingress does not route it either): each answer reads every key, from memory or from PostgreSQL, so one
 * digest at a time is computed per process and a request that comes meanwhile gets 429 with {@code Retry-After}.
 * <pre>
 * curl localhost:8080/replica                   # {"revision":9,"keys":3,"checksum":"1f..."}
 * curl 'localhost:8080/replica?source=database' # the same fingerprint computed from PostgreSQL
 * </pre>
 */
public final class ReplicaService implements HttpService {
    private final Replica replica;
    private final SnapshotReader snapshots;
    private final Semaphore oneAtATime = new Semaphore(1);

    public ReplicaService(Replica replica, SnapshotReader snapshots) {
        this.replica = replica;
        this.snapshots = snapshots;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::digest);
    }

    private void digest(ServerRequest req, ServerResponse res) {
        String source = req.query().first("source").orElse("replica");
        if (!source.equals("replica") && !source.equals("database")) {
            throw new ApiException(Status.BAD_REQUEST_400, "bad_source", "source is replica or database");
        }
        if (!oneAtATime.tryAcquire()) {
            res.header(HeaderNames.RETRY_AFTER, "1");
            throw new ApiException(Status.TOO_MANY_REQUESTS_429, "busy", "A digest is being computed; retry later");
        }
        try {
            Replica.Digest digest = source.equals("replica") ? replica.digest() : Replica.digestOf(snapshots);
            res.header(HeaderValues.CONTENT_TYPE_JSON);
            res.send(Json.write(digest));
        } finally {
            oneAtATime.release();
        }
    }
}
