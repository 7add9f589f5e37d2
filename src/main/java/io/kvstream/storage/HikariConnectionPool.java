package io.kvstream.storage;

import java.sql.Connection;
import java.sql.SQLException;

import com.zaxxer.hikari.HikariDataSource;
import io.helidon.dbclient.DbClientException;
import io.helidon.dbclient.jdbc.JdbcConnectionPool;

/** HikariCP behind Helidon DbClient (the dbclient-hikari module is not served for Helidon 4.5.0). */
final class HikariConnectionPool implements JdbcConnectionPool {
    private final HikariDataSource dataSource;

    HikariConnectionPool(HikariDataSource dataSource) {
        this.dataSource = dataSource;
    }

    @Override
    public Connection connection() {
        try {
            return dataSource.getConnection();
        } catch (SQLException e) {
            throw new DbClientException("No database connection: " + e.getMessage(), e);
        }
    }

    @Override
    public String dbType() {
        return "jdbc:postgresql";
    }
}
