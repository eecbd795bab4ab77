/** The two extra nodes global-setup starts on MariaDB and Redis, when configured. */
export const clusterNodes = ["127.0.0.1:3101", "127.0.0.1:3102"];

/** Whether the two-node test can run here. */
export const clusterConfigured = Boolean(
  process.env.E2E_CLUSTER_DATABASE_URL && process.env.E2E_CLUSTER_REDIS_URL,
);
