package io.kvstream.wire;

import java.util.Arrays;
import java.util.List;

import com.rabbitmq.client.Address;

/**
 * {@code kvstream.amqp.uri} read as the nodes of a cluster: {@code amqp://user:pass@host1:5672,host2:5672/vhost}
 * names several nodes (PostgreSQL's JDBC URLs list hosts the same way), one host is a single broker. The client
 * connects to one of them and, after an outage, recovers to whichever answers. {@code firstNodeUri} is the URI with
 * the first node alone: it carries credentials, virtual host, TLS and query options for the client.
 */
record BrokerAddresses(String firstNodeUri, List<Address> nodes) {

    static BrokerAddresses parse(String uri) {
        int schemeEnd = uri.indexOf("://");
        if (schemeEnd < 0) {
            throw new IllegalArgumentException("kvstream.amqp.uri is not a valid amqp:// URI");
        }
        int authorityStart = schemeEnd + 3;
        int authorityEnd = indexOfAny(uri, authorityStart, '/', '?', '#');
        String authority = uri.substring(authorityStart, authorityEnd);
        // The password may hold '@' only percent-encoded, but the last '@' ends the user info either way.
        int at = authority.lastIndexOf('@');
        String userInfo = at < 0 ? "" : authority.substring(0, at + 1);
        List<String> hosts = Arrays.stream(authority.substring(at + 1).split(",", -1)).map(String::trim).toList();
        if (hosts.stream().anyMatch(String::isEmpty)) {
            throw new IllegalArgumentException("kvstream.amqp.uri lists an empty host");
        }
        List<Address> nodes = hosts.stream().map(BrokerAddresses::address).toList();
        String firstNodeUri = uri.substring(0, authorityStart) + userInfo + hosts.getFirst() + uri.substring(authorityEnd);
        return new BrokerAddresses(firstNodeUri, nodes);
    }

    /** host, host:port, [v6] or [v6]:port; no port means the scheme's (5672, amqps 5671). */
    private static Address address(String hostPort) {
        try {
            return Address.parseAddress(hostPort);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("kvstream.amqp.uri: not a host[:port]: " + hostPort);
        }
    }

    private static int indexOfAny(String text, int from, char... stops) {
        for (int i = from; i < text.length(); i++) {
            for (char stop : stops) {
                if (text.charAt(i) == stop) {
                    return i;
                }
            }
        }
        return text.length();
    }

    /** host:port of every node, for messages (never the URI: it holds the password). */
    String describe() {
        return String.join(", ", nodes.stream().map(Address::toString).toList());
    }
}
