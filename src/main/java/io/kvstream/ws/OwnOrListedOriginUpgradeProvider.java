package io.kvstream.ws;

import io.helidon.common.Weight;
import io.helidon.common.Weighted;
import io.helidon.webserver.ProtocolConfigs;
import io.helidon.webserver.http1.spi.Http1UpgradeProvider;
import io.helidon.webserver.http1.spi.Http1Upgrader;
import io.helidon.webserver.websocket.WsConfig;
import io.helidon.webserver.websocket.WsUpgradeProvider;

/**
 * Takes the place of Helidon's {@link WsUpgradeProvider} (a higher weight wins: Helidon keeps the first upgrader per
 * protocol, registered in {@code META-INF/services}) so that an origin list on {@code /events} keeps the server's own
 * origin allowed ({@link OwnOrListedOriginUpgrader}). Without a list it is Helidon's upgrader, unchanged.
 */
@Weight(Weighted.DEFAULT_WEIGHT + 10)
public final class OwnOrListedOriginUpgradeProvider implements Http1UpgradeProvider<WsConfig> {
    private final WsUpgradeProvider helidon = new WsUpgradeProvider();

    @Override
    public String protocolType() {
        return helidon.protocolType();
    }

    @Override
    public Class<WsConfig> protocolConfigType() {
        return helidon.protocolConfigType();
    }

    @Override
    public Http1Upgrader create(WsConfig config, ProtocolConfigs configs) {
        return config.origins().isEmpty() ? helidon.create(config, configs) : OwnOrListedOriginUpgrader.create(config);
    }
}
