package io.kvstream.wire;

/** The broker's exchange and queue names, all under one prefix ({@code kvstream.amqp.name-prefix}). */
public record Names(String prefix) {
    /** The durable queue of write commands, consumed by the workers. */
    public String commandQueue() {
        return prefix + ".commands";
    }

    /**
     * The exchange of type {@code x-random} that hands each synchronous command to one of the workers' own queues
     * ({@code kvstream.amqp.sync-command-lane=worker-queues}).
     */
    public String syncCommandsExchange() {
        return prefix + ".sync-commands";
    }

    /** The documented wire format for consumers outside kvstream: one domain event per message. */
    public String eventsExchange() {
        return prefix + ".events";
    }

    /** kvstream's own replication feed: one message per committed batch, a JSON array of domain events. */
    public String eventBatchesExchange() {
        return prefix + ".event-batches";
    }

    /** Connection opened/closed announcements and rosters of the WebSocket processes. */
    public String presenceExchange() {
        return prefix + ".presence";
    }

    /** The reply queue of one API process. */
    String replyQueue(String process) {
        return prefix + ".replies." + process;
    }
}
