package io.kvstream.api;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.kvstream.command.CommandBus;
import io.kvstream.command.CommandTimeoutException;
import io.kvstream.domain.Command;
import io.kvstream.domain.CommandOutcome;
import io.kvstream.http.ApiError;
import io.kvstream.replica.Replica;
import io.kvstream.wire.BrokerUnavailableException;
import io.kvstream.wire.Json;

/**
 * What the write resources ({@code /values}, {@code /txn}) share: new command ids, sending a command and waiting
 * until its change is applied to this process's replica (read-your-writes), or only enqueueing it
 * ({@code Prefer: respond-async}), and the errors that go with either.
 */
final class WriteCommands {
    /** Unique across processes and restarts: a random 64-bit prefix per process, then a counter. */
    private static final String COMMAND_ID_PREFIX = HexFormat.of().toHexDigits(new SecureRandom().nextLong()) + "-";
    private static final AtomicLong COMMAND_COUNTER = new AtomicLong();

    private static final Header PREFERENCE_APPLIED = HeaderValues.create("Preference-Applied", "respond-async");

    private final Replica replica;
    private final CommandBus commandBus;
    private final BooleanSupplier storageAvailable;
    private final Duration commandTimeout;
    private final ApiMetrics metrics;

    WriteCommands(Replica replica, CommandBus commandBus, BooleanSupplier storageAvailable, Duration commandTimeout,
                  ApiMetrics metrics) {
        this.replica = replica;
        this.commandBus = commandBus;
        this.storageAvailable = storageAvailable;
        this.commandTimeout = commandTimeout;
        this.metrics = metrics;
    }

    static String newCommandId() {
        // UUID.randomUUID() draws from SecureRandom per call: 3.5% of API CPU under PUT load.
        return COMMAND_ID_PREFIX + Long.toHexString(COMMAND_COUNTER.incrementAndGet());
    }

    /**
     * Sends the command and waits until this replica has what it answers (read-your-writes): the change of an
     * applied command; for a transaction, even one that changed nothing, the revision its compares were read at.
     */
    CommandOutcome execute(Command command) {
        requireStorage();
        long deadline = System.nanoTime() + commandTimeout.toNanos();
        CommandOutcome outcome;
        try {
            outcome = commandBus.send(command, commandTimeout);
        } catch (BrokerUnavailableException e) {
            throw brokerUnavailable(e);
        } catch (CommandTimeoutException e) {
            throw new TimedOutException(command.id(), "No answer from the worker in time; the write may still apply");
        }
        metrics.commandAnswered(outcome.status().wireName());
        if (outcome.applied() || outcome.txn() != null) {
            Duration left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
            if (!replica.awaitRevision(outcome.revision(), left)) {
                throw new TimedOutException(command.id(), "Committed at revision " + outcome.revision()
                                                          + " but not yet visible on this server");
            }
        }
        return outcome;
    }

    void enqueue(Command command) {
        requireStorage();
        try {
            commandBus.enqueue(command, commandTimeout);
        } catch (BrokerUnavailableException e) {
            throw brokerUnavailable(e);
        } catch (CommandTimeoutException e) {
            throw new TimedOutException(command.id(), "The broker did not confirm the command (no confirm in time,"
                                                       + " or the connection dropped first); it may still apply");
        }
    }

    /** The 503 of a command the broker did not take; the reason tells a refusal (nack) from a lost connection. */
    private static ApiException brokerUnavailable(BrokerUnavailableException e) {
        return unavailable("The message broker is unavailable (" + e.getMessage() + "); nothing was written");
    }

    /** With the database known to be down a write cannot commit: say so now instead of timing out. */
    private void requireStorage() {
        if (!storageAvailable.getAsBoolean()) {
            throw unavailable("The database is unavailable; nothing was written");
        }
    }

    /** The 422 of an outcome no retry changes: the Idempotency-Key was used before, or the database refused it. */
    static void refuseUnprocessable(ServerResponse res, CommandOutcome outcome, String what) {
        if (outcome.status() == CommandOutcome.Status.IDEMPOTENCY_KEY_REUSED) {
            ApiError.send(res, Status.create(422, "Unprocessable Content"), "idempotency_key_reused",
                          "This Idempotency-Key was used for another request; nothing was written");
        } else {
            ApiError.send(res, Status.create(422, "Unprocessable Content"), "rejected", what + " cannot be stored");
        }
    }

    static boolean respondAsync(ServerRequest req) {
        return req.headers().values(HeaderNames.create("Prefer")).stream()
                .flatMap(v -> Arrays.stream(v.split(",")))
                .anyMatch(v -> v.trim().equalsIgnoreCase("respond-async"));
    }

    static ApiException unavailable(String message) {
        return new ApiException(Status.SERVICE_UNAVAILABLE_503, "unavailable", message);
    }

    /** 202: the command is on its way ({@code Prefer: respond-async} honoured, RFC 7240 §3). */
    static void sendAccepted(ServerResponse res, Object body) {
        res.header(PREFERENCE_APPLIED);
        sendJson(res, Status.ACCEPTED_202, body);
    }

    static void sendJson(ServerResponse res, Status status, Object body) {
        res.status(status);
        res.header(HeaderValues.CONTENT_TYPE_JSON);
        res.send(Json.write(body));
    }
}
