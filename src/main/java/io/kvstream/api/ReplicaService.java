package io.kvstream.api;

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
 * For operators: proves this pod's replica equals the database. Internal (the Ingress does not route it).
 * <pre>
 * curl localhost:8080/replica                   # {"revision":9,"keys":3,"checksum":"1f..."}
 * curl 'localhost:8080/replica?source=database' # the same fingerprint computed from PostgreSQL
 * </pre>
 */
public final class ReplicaService implements HttpService {
    private final Replica replica;
    private final SnapshotReader snapshots;

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
        Replica.Digest digest = switch (source) {
            case "replica" -> replica.digest();
            case "database" -> Replica.digestOf(snapshots);
            default -> throw new ApiException(Status.BAD_REQUEST_400, "bad_source", "source is replica or database");
        };
        res.header(HeaderValues.CONTENT_TYPE_JSON);
        res.send(Json.write(digest));
    }
}
