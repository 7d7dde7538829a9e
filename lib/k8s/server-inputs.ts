/*
 * How each pinned server takes its secrets without them appearing on its command line (where `ps` on
 * the node shows them to everyone). Every name here was read in the source of the version that
 * lib/config/images.ts pins; the comment on each names the file. When an image is bumped, re-check it.
 *
 * viper (spf13/viper v1.20.1 and v1.21.0, viper.go `mergeWithEnvPrefix`, `getEnv`, `find`): with
 * `AutomaticEnv()`, `Get(key)` looks up the environment variable `<PREFIX>_<KEY>` upper-cased, with
 * no character replaced unless the server set an `EnvKeyReplacer` (none of these do), after an
 * explicitly passed flag and before the config file and the flag default. Kubernetes accepts "-" and
 * "." in environment variable names (`[-._a-zA-Z][-._a-zA-Z0-9]*`).
 */

/** Environment variables through which servers read a password, instead of a flag. */
export const SECRET_ENVIRONMENT = {
  /**
   * Fulcio v1.8.8 `--fileca-key-passwd`: cmd/app/serve.go calls `viper.SetEnvPrefix("FULCIO_SERVE")`
   * and `viper.AutomaticEnv()` before it checks `viper.IsSet("fileca-key-passwd")` and reads it.
   */
  fulcioCaKeyPassword: 'FULCIO_SERVE_FILECA-KEY-PASSWD',
  /**
   * timestamp-server v2.1.0 `--file-signer-passwd`: cmd/timestamp-server/app/root.go `initConfig`
   * calls `viper.AutomaticEnv()` without a prefix; pkg/api/api.go reads `viper.GetString("file-signer-passwd")`.
   */
  tsaSignerPassword: 'FILE-SIGNER-PASSWD',
  /**
   * rekor-server v1.5.4 `--rekor_server.signer-passwd`: cmd/rekor-server/app/root.go `initConfig`
   * calls `viper.AutomaticEnv()` without a prefix; pkg/api/api.go reads `viper.GetString("rekor_server.signer-passwd")`.
   */
  rekorSignerPassword: 'REKOR_SERVER.SIGNER-PASSWD',
  /** rekor-server v1.5.4 `--redis_server.password`: same; pkg/api/api.go and pkg/indexstorage read `redis_server.password`. */
  rekorRedisPassword: 'REDIS_SERVER.PASSWORD',
} as const;

/**
 * Trillian v1.7.3 (`trillian_log_server`, `trillian_log_signer`): `--config=<file>` reads more flags
 * from a file, and expands `${VAR}` in each of them from the environment (cmd/flags.go `parseFlags`:
 * `os.ExpandEnv` on every argument, then `flag.CommandLine.Parse`; main.go of both binaries calls
 * `cmd.ParseFlagFile(*configFile)`). The file is public; the credentials stay in the environment.
 */
export const TRILLIAN_FLAG_FILE_FLAG = '--config';

/**
 * The official MySQL image's entrypoint reads `MYSQL_ROOT_PASSWORD_FILE` and `MYSQL_PASSWORD_FILE`
 * (docker-library/mysql 8.4/docker-entrypoint.sh, `file_env`). The entrypoint exports the values to
 * mysqld's environment, but they are never on a command line and never in the pod's env spec.
 */
export const MYSQL_PASSWORD_FILE_VARIABLES = { root: 'MYSQL_ROOT_PASSWORD_FILE', user: 'MYSQL_PASSWORD_FILE' } as const;

/**
 * Redis 6.2 reads a config file named as its first argument (src/server.c `main`: `argv[1]` is the
 * config file unless it starts with "-"; the docker-library/redis 6.2 entrypoint prepends
 * `redis-server` to an argument ending in `.conf`), and `requirepass` is a config directive
 * (src/config.c). The file lives in the Redis Secret; the password is never on the command line.
 */
export const REDIS_CONFIG_FILE = 'redis.conf';

/** A container that can only take a Secret-sourced value on its command line. */
export interface SecretArgvException {
  /** The Deployment or Job. */
  readonly workload: string;
  readonly container: string;
  /** The flag that carries it. */
  readonly flag: string;
  /** The environment variables (from Secrets) the flag expands. */
  readonly variables: readonly string[];
  /** Why there is no other way, with the upstream source. */
  readonly reason: string;
}

/**
 * The documented exceptions: the only containers whose arguments expand a Secret-sourced variable.
 * A test asserts that the synthesized manifests have exactly these (no more, and none that went away).
 */
export const SECRET_ARGV_EXCEPTIONS: readonly SecretArgvException[] = [
  {
    workload: 'trillian-createdb',
    container: 'createdb',
    flag: '--mysql_uri',
    variables: ['MYSQL_USER', 'MYSQL_PASSWORD'],
    reason:
      'scaffolding createdb (v0.7.31, cmd/trillian/createdb/main.go) takes the DSN only as the Go flag --mysql_uri: ' +
      'no environment variable, no config file. The Job runs for seconds, once per apply, until the tables exist.',
  },
];
