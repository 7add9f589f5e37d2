package io.kvstream;

import io.helidon.config.Config;
import io.helidon.logging.common.LogConfig;
import io.helidon.webserver.WebServer;

/**
 * Starts kvstream in the role its configuration names ({@code kvstream.role}, env {@code KVSTREAM_ROLE}).
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        LogConfig.configureRuntime();
        Config config = Config.create();
        Settings settings = Settings.from(config);
        Kvstream app = Kvstream.start(settings);
        WebServer server = WebServer.builder()
                .config(config.get("server"))
                .update(app::configure)
                .build()
                .start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.stop();
            app.close();
        }, "kvstream-shutdown"));
        System.out.println("kvstream " + settings.role().name().toLowerCase() + " ready at http://localhost:"
                           + server.port() + "/");
    }
}
