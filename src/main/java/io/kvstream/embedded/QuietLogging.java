package io.kvstream.embedded;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;

/** Turns the embedded servers' chatty INFO logging (via SLF4J to JUL) down to WARNING unless configured. */
final class QuietLogging {

    /** JUL holds loggers weakly: a level set on a collected logger would be lost. */
    private static final Set<Logger> HELD = ConcurrentHashMap.newKeySet();

    private QuietLogging() {
    }

    static void warningUnlessConfigured(String... loggerNames) {
        for (String name : loggerNames) {
            if (LogManager.getLogManager().getProperty(name + ".level") == null) {
                Logger logger = Logger.getLogger(name);
                logger.setLevel(Level.WARNING);
                HELD.add(logger);
            }
        }
    }
}
