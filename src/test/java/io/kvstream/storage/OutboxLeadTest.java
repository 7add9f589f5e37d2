package io.kvstream.storage;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.kvstream.config.Settings;
import io.kvstream.testing.TestServices;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * The relay's lead on the real PostgreSQL: one outbox at a time holds it; another waits in the database's queue for
 * it, and a wait that runs out says so (false, no error), so a standby waits again; once the leader's session ends, the
 * waiting outbox is granted the lead within that same wait.
 */
class OutboxLeadTest {
    private static final Duration SHORT = Duration.ofMillis(200);
    private static final Duration GENEROUS = Duration.ofSeconds(60);

    @Test
    void aStandbyWaitsInTheQueueForTheLeadAndGetsItWhenTheLeaderLetsGo() throws Exception {
        Settings.Db db = TestServices.db(TestServices.uniqueName("outbox"));
        try (Database database = Database.open(db, "outbox-test");
             Outbox standby = Outbox.open(database)) {
            Outbox leader = Outbox.open(database);
            try {
                assertThat(leader.awaitLead(SHORT), is(true));
                assertThat("the lead is taken", standby.awaitLead(SHORT), is(false));
                assertThat("and a standby may wait again", standby.awaitLead(SHORT), is(false));

                CompletableFuture<Boolean> waiting = CompletableFuture.supplyAsync(() -> standby.awaitLead(GENEROUS));
                leader.close();
                assertThat(waiting.get(GENEROUS.toSeconds() + 10, TimeUnit.SECONDS), is(true));
            } finally {
                leader.close();
            }
            // The lead is the standby's now: any other outbox waits for it in vain.
            try (Outbox other = Outbox.open(database)) {
                assertThat(other.awaitLead(SHORT), is(false));
            }
        }
    }
}
