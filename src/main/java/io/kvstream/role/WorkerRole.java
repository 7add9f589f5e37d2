package io.kvstream.role;

import java.util.List;

import io.kvstream.config.Settings;

/**
 * The worker role ({@code kvstream.role=worker}): commits commands in batches and relays their events. It serves
 * only {@code /observe}.
 */
public final class WorkerRole {
    private WorkerRole() {
    }

    public static RunningRole start(Settings settings) {
        return RunningRole.assemble(settings, parts -> {
            parts.startWorker();
            return new RunningRole.Serving(routing -> { }, null, parts.workerReadiness(), List.of());
        });
    }
}
