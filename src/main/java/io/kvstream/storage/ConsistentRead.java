package io.kvstream.storage;

import java.sql.Connection;
import java.sql.SQLException;

import javax.sql.DataSource;

/** Runs several reads in one repeatable-read, read-only transaction, so that all of them see one state. */
final class ConsistentRead {
    private ConsistentRead() {
    }

    @FunctionalInterface
    interface Reads<T> {
        T run(Connection connection) throws SQLException;
    }

    static <T> T run(DataSource dataSource, Reads<T> reads) throws SQLException {
        try (Connection connection = dataSource.getConnection()) {
            connection.setAutoCommit(false);
            connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            connection.setReadOnly(true);
            try {
                return reads.run(connection);
            } finally {
                // The pool hands the connection on: as it came.
                connection.rollback();
                connection.setReadOnly(false);
                connection.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
                connection.setAutoCommit(true);
            }
        }
    }
}
