package io.kvstream.wire;

import java.net.URI;
import java.time.Duration;
import java.util.List;

import com.rabbitmq.client.Address;
import io.kvstream.config.Settings;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.Tools;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** kvstream.amqp.uri with the nodes of a cluster: {@code amqp://user:pass@h1:p1,h2:p2/vhost}. */
class BrokerAddressesTest {

    @Test
    void oneHostIsOneNodeAndTheUriUnchanged() {
        BrokerAddresses parsed = BrokerAddresses.parse("amqp://guest:guest@127.0.0.1:5672/%2f");

        assertThat(parsed.firstNodeUri(), is("amqp://guest:guest@127.0.0.1:5672/%2f"));
        assertThat(parsed.nodes(), is(List.of(new Address("127.0.0.1", 5672))));
    }

    @Test
    void commaSeparatedHostsAreTheNodesAndTheFirstCarriesCredentialsAndVhost() {
        BrokerAddresses parsed = BrokerAddresses.parse(
                "amqps://kv:p%40ss@rmq-0.rmq:5671,rmq-1.rmq:5671,rmq-2.rmq/prod?heartbeat=10");

        assertThat(parsed.firstNodeUri(), is("amqps://kv:p%40ss@rmq-0.rmq:5671/prod?heartbeat=10"));
        assertThat(parsed.nodes(), is(List.of(new Address("rmq-0.rmq", 5671), new Address("rmq-1.rmq", 5671),
                                              new Address("rmq-2.rmq"))));
    }

    @Test
    void hostsWithoutPathOrUserInfo() {
        BrokerAddresses parsed = BrokerAddresses.parse("amqp://a:1,b:2");

        assertThat(parsed.firstNodeUri(), is("amqp://a:1"));
        assertThat(parsed.nodes(), is(List.of(new Address("a", 1), new Address("b", 2))));
    }

    @Test
    void anEmptyHostIsRefusedWithoutThePassword() {
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> BrokerAddresses.parse("amqp://kv:secret@a:1,,b:2/"));

        assertThat(refused.getMessage(), is("kvstream.amqp.uri lists an empty host"));
        assertThat(refused.getMessage(), not(containsString("secret")));
    }

    @Test
    void connectsThroughWhicheverListedNodeAnswers() {
        Tools.require(TestServices.realServers(), "the machine's RabbitMQ; CI sets KVSTREAM_TEST_*");
        Settings.Amqp amqp = TestServices.settings(Settings.Role.WORKER, "unused", TestServices.uniqueName("nodes"))
                .amqp();
        URI single = URI.create(amqp.uri());
        // Port 1 of loopback refuses every connection, like a node that is down.
        String withDeadNode = single.getScheme() + "://" + single.getRawUserInfo() + "@127.0.0.1:1," + single.getHost()
                              + ":" + single.getPort() + single.getRawPath();

        for (int attempt = 0; attempt < 4; attempt++) {
            try (Broker broker = Broker.connect(amqp.withUri(withDeadNode), "nodes-test", Duration.ofSeconds(30))) {
                assertThat(broker.isOpen(), is(true));
            }
        }
    }
}
