import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.ConfirmListener;

/**
 * The broker's share of a write with nothing else around it: the message hops one kvstream write needs, and no
 * database, HTTP or replica. Each write is a transient command published with a confirm to a durable queue, taken by
 * a consumer that acknowledges it and publishes one transient event with a confirm to a fanout exchange, which
 * delivers it to {@code REPLICAS} exclusive auto-acknowledged queues, each read over a connection of its own (as
 * each replicating process has its own). Open loop at RATE writes a second.
 * <pre>
 * java -cp 'target/libs/*' bench/BrokerFloor.java AMQP_URI RATE SECONDS REPLICAS
 * </pre>
 * {@code -DnoCommandConfirm=true} publishes the commands without confirms, {@code -DautoAck=true} consumes them
 * without acknowledgements: what those two cost the broker (kvstream's command path has both).
 * <p>
 * Prints {@code SENT n} and {@code RECEIVED n} (events delivered to every replica queue, summed), after the last
 * event has arrived or 10 s past the end.
 */
public final class BrokerFloor {
    public static void main(String[] args) throws Exception {
        String uri = args[0];
        int rate = Integer.parseInt(args[1]);
        int seconds = Integer.parseInt(args[2]);
        int replicas = Integer.parseInt(args[3]);
        String prefix = "floor-" + UUID.randomUUID().toString().substring(0, 8);
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(uri);
        List<Connection> connections = new ArrayList<>();
        Connection api = factory.newConnection("floor-api");
        Connection worker = factory.newConnection("floor-worker");
        connections.add(api);
        connections.add(worker);

        Channel topology = worker.createChannel();
        String commands = prefix + ".commands";
        String events = prefix + ".event-batches";
        topology.queueDeclare(commands, true, false, false, Map.of());
        topology.exchangeDeclare(events, BuiltinExchangeType.FANOUT, false, true, Map.of());

        AtomicLong received = new AtomicLong();
        for (int i = 0; i < replicas; i++) {
            Connection replica = factory.newConnection("floor-replica-" + i);
            connections.add(replica);
            Channel channel = replica.createChannel();
            String queue = channel.queueDeclare("", false, true, true, Map.of()).getQueue();
            channel.queueBind(queue, events, "");
            channel.basicConsume(queue, true, (tag, delivery) -> received.incrementAndGet(), tag -> { });
        }

        Channel workerIn = worker.createChannel();
        Channel workerOut = worker.createChannel();
        workerOut.confirmSelect();
        workerOut.addConfirmListener(ignoreConfirms());
        AMQP.BasicProperties transient_ = new AMQP.BasicProperties.Builder().deliveryMode(1).build();
        workerIn.basicQos(256);
        boolean autoAck = Boolean.getBoolean("autoAck");
        workerIn.basicConsume(commands, autoAck, (tag, delivery) -> {
            if (!autoAck) {
                workerIn.basicAck(delivery.getEnvelope().getDeliveryTag(), true);
            }
            workerOut.basicPublish(events, "", transient_, delivery.getBody());
        }, tag -> { });

        Channel apiOut = api.createChannel();
        if (!Boolean.getBoolean("noCommandConfirm")) {
            apiOut.confirmSelect();
            apiOut.addConfirmListener(ignoreConfirms());
        }
        byte[] body = ("{\"type\":\"put\",\"key\":\"k\",\"value\":\"" + "v".repeat(100) + "\"}").getBytes();
        long interval = TimeUnit.SECONDS.toNanos(1) / rate;
        long start = System.nanoTime();
        long total = (long) rate * seconds;
        for (long sent = 0; sent < total; sent++) {
            long due = start + sent * interval;
            long wait = due - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(wait);
            }
            apiOut.basicPublish("", commands, transient_, body);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (received.get() < total * replicas && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        System.out.println("SENT " + total);
        System.out.println("RECEIVED " + received.get());
        topology.queueDelete(commands);
        for (Connection c : connections) {
            c.close();
        }
    }

    private static ConfirmListener ignoreConfirms() {
        return new ConfirmListener() {
            @Override
            public void handleAck(long deliveryTag, boolean multiple) {
            }

            @Override
            public void handleNack(long deliveryTag, boolean multiple) {
            }
        };
    }
}
