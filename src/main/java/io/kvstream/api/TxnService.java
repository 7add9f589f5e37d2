package io.kvstream.api;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.kvstream.auth.Authenticator;
import io.kvstream.command.CommandBus;
import io.kvstream.domain.Command;
import io.kvstream.domain.CommandOutcome;
import io.kvstream.domain.Txn;
import io.kvstream.http.ApiError;
import io.kvstream.replica.Replica;

/**
 * Transactions, as etcd's {@code Txn}: if every compare holds (the key's mod revision equals the given one; 0: the
 * key is absent), the {@code success} changes apply, else the {@code failure} changes, in one commit with
 * consecutive revisions, which every replica applies as one unit. Answered once applied here (read-your-writes);
 * {@code "succeeded":false} is an answer, not an error.
 * <pre>
 * curl -X POST localhost:8080/txn -d '{"compare":[{"key":"a","revision":0}],"success":[{"op":"put","key":"a","value":"1"}]}'
 * curl -X POST localhost:8080/txn -d '{"compare":[{"key":"a","revision":3}],"success":[{"op":"put","key":"a","value":"2"},{"op":"delete","key":"b"}],"failure":[]}'
 * curl -X POST -H 'Prefer: respond-async' localhost:8080/txn -d '{"success":[{"op":"delete","key":"a"}]}'
 * </pre>
 * With an {@code Idempotency-Key}, a retry gets the first answer (see {@link IdempotencyKey}).
 */
public final class TxnService implements HttpService {
    private final WriteCommands writes;
    private final TxnParser parser;
    private final Authenticator auth;
    private final ApiMetrics metrics;
    private final BodyBudget bodies;

    public TxnService(Replica replica, CommandBus commandBus, BooleanSupplier storageAvailable, int maxValueBytes,
                      Duration commandTimeout, ApiMetrics metrics, Authenticator auth, BodyBudget bodies) {
        this.writes = new WriteCommands(replica, commandBus, storageAvailable, commandTimeout, metrics);
        this.parser = new TxnParser(maxValueBytes);
        this.auth = auth;
        this.metrics = metrics;
        this.bodies = bodies;
        bodies.requireRoomFor(largestBody(maxValueBytes), "a transaction");
    }

    /** The largest request body the API reads, a transaction's: the server refuses a larger one unread. */
    public static long largestBody(int maxValueBytes) {
        return TxnParser.maxBodyBytes(maxValueBytes);
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/", this::txn)
                .any("/", (req, res) -> ApiError.methodNotAllowed(req, res, "POST"));
    }

    /** {@code POST /txn}: 200 with what each change of the branch taken did, 202 with {@code Prefer: respond-async}. */
    private void txn(ServerRequest req, ServerResponse res) {
        try (BodyBudget.Share share = bodies.share()) {
            txn(req, res, share);
        }
    }

    private void txn(ServerRequest req, ServerResponse res, BodyBudget.Share share) {
        auth.requireWrite(req, res);
        // A transaction's puts make their keys permanent, and it reads nothing at a revision: either parameter,
        // ignored, would do other than its sender meant.
        RequestParser.refuse(req, "ttl", "bad_ttl",
                             "ttl applies to PUT /values/{key}; a transaction's puts are permanent");
        RequestParser.refuse(req, "revision", "bad_revision", "A transaction compares revisions in its body");
        Txn txn;
        try {
            txn = parser.txn(req, share);
        } catch (ApiException e) {
            throw ApiErrorHandlers.refusedBody(res, e, metrics);
        }
        Command command = IdempotencyKey.apply(req, Command.txn(WriteCommands.newCommandId(), txn));
        if (WriteCommands.respondAsync(req)) {
            writes.enqueue(command);
            WriteCommands.sendAccepted(res, new AcceptedBody("Accepted", command.id()));
            return;
        }
        CommandOutcome outcome = writes.execute(command);
        if (outcome.txn() == null) {
            WriteCommands.refuseUnprocessable(res, outcome, "The transaction");
            return;
        }
        WriteCommands.sendJson(res, Status.OK_200, answer(txn, outcome));
    }

    private static TxnBody answer(Txn txn, CommandOutcome outcome) {
        List<Txn.Change> changes = txn.branch(outcome.txn().succeeded());
        List<Long> revisions = outcome.txn().revisions();
        List<Result> results = new ArrayList<>(changes.size());
        for (int i = 0; i < changes.size(); i++) {
            Txn.Change change = changes.get(i);
            long revision = revisions.get(i);
            results.add(change.puts() ? new Result(change.key(), null, revision)
                                       : revision == 0 ? new Result(change.key(), "0", null)
                                                       : new Result(change.key(), "1", revision));
        }
        return new TxnBody(outcome.txn().succeeded(), outcome.revision(), results);
    }

    /** What {@code POST /txn} answers: per change of the branch taken, as PUT and DELETE answer it. */
    record TxnBody(boolean succeeded, long revision, List<Result> results) {
    }

    /** A put: key and revision; a delete: message "1" and revision, or "0" (nothing to delete). */
    record Result(String key, String message, Long revision) {
    }

    record AcceptedBody(String message, String command) {
    }
}
