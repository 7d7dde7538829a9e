import { createHash } from 'node:crypto';
import type { MariaDbServer } from './mariadb-server';

/*
 * A small database shaped like Trillian's MySQL storage, for the backup and restore tests: the tables
 * a backup must carry (trees and their settings, leaves, sequenced leaves, the unsequenced queue,
 * subtree tiles, signed tree heads), with the column names the README's restore check queries
 * (google/trillian storage/mysql/schema/storage.sql at v1.7.3 names them; this schema is written
 * here, smaller, not copied), foreign keys between them as there, and binary columns holding every
 * byte value (NUL, quote, backslash, 0xff), so a dump that mangles binary data shows.
 */
export const TRILLIAN_TABLES = ['Trees', 'TreeControl', 'Subtree', 'TreeHead', 'LeafData', 'SequencedLeafData', 'Unsequenced'] as const;

const SCHEMA = `
CREATE TABLE Trees (
  TreeId BIGINT NOT NULL PRIMARY KEY,
  TreeState ENUM('ACTIVE', 'FROZEN', 'DRAINING') NOT NULL,
  TreeType ENUM('LOG', 'MAP', 'PREORDERED_LOG') NOT NULL,
  DisplayName VARCHAR(20),
  Description VARCHAR(200),
  CreateTimeMillis BIGINT NOT NULL,
  PublicKey MEDIUMBLOB NOT NULL,
  Deleted BOOLEAN
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE TreeControl (
  TreeId BIGINT NOT NULL PRIMARY KEY,
  SigningEnabled BOOLEAN NOT NULL,
  SequencingEnabled BOOLEAN NOT NULL,
  SequenceIntervalSeconds INTEGER NOT NULL,
  FOREIGN KEY (TreeId) REFERENCES Trees (TreeId) ON DELETE CASCADE
) ENGINE=InnoDB;
CREATE TABLE Subtree (
  TreeId BIGINT NOT NULL,
  SubtreeId VARBINARY(255) NOT NULL,
  Nodes MEDIUMBLOB NOT NULL,
  SubtreeRevision INTEGER NOT NULL,
  PRIMARY KEY (TreeId, SubtreeId, SubtreeRevision),
  FOREIGN KEY (TreeId) REFERENCES Trees (TreeId) ON DELETE CASCADE
) ENGINE=InnoDB;
CREATE TABLE TreeHead (
  TreeId BIGINT NOT NULL,
  TreeHeadTimestamp BIGINT,
  TreeSize BIGINT,
  RootHash VARBINARY(255) NOT NULL,
  RootSignature VARBINARY(1024) NOT NULL,
  TreeRevision BIGINT,
  PRIMARY KEY (TreeId, TreeHeadTimestamp),
  UNIQUE KEY HeadRevision (TreeId, TreeRevision),
  FOREIGN KEY (TreeId) REFERENCES Trees (TreeId) ON DELETE CASCADE
) ENGINE=InnoDB;
CREATE TABLE LeafData (
  TreeId BIGINT NOT NULL,
  LeafIdentityHash VARBINARY(255) NOT NULL,
  LeafValue LONGBLOB NOT NULL,
  ExtraData LONGBLOB,
  QueueTimestampNanos BIGINT NOT NULL,
  PRIMARY KEY (TreeId, LeafIdentityHash),
  FOREIGN KEY (TreeId) REFERENCES Trees (TreeId) ON DELETE CASCADE
) ENGINE=InnoDB;
CREATE TABLE SequencedLeafData (
  TreeId BIGINT NOT NULL,
  SequenceNumber BIGINT UNSIGNED NOT NULL,
  LeafIdentityHash VARBINARY(255) NOT NULL,
  MerkleLeafHash VARBINARY(255) NOT NULL,
  IntegrateTimestampNanos BIGINT NOT NULL,
  PRIMARY KEY (TreeId, SequenceNumber),
  KEY ByMerkleHash (TreeId, MerkleLeafHash),
  FOREIGN KEY (TreeId, LeafIdentityHash) REFERENCES LeafData (TreeId, LeafIdentityHash) ON DELETE CASCADE
) ENGINE=InnoDB;
CREATE TABLE Unsequenced (
  TreeId BIGINT NOT NULL,
  Bucket INTEGER NOT NULL,
  LeafIdentityHash VARBINARY(255) NOT NULL,
  MerkleLeafHash VARBINARY(255) NOT NULL,
  QueueTimestampNanos BIGINT NOT NULL,
  QueueID VARBINARY(32) DEFAULT NULL UNIQUE,
  PRIMARY KEY (TreeId, Bucket, QueueTimestampNanos, LeafIdentityHash)
) ENGINE=InnoDB;
`;

/** The two logs of a Sigstore install: Rekor's and the CT log's trees (ids as createtree makes them: 63-bit). */
export const TREES = [
  { id: 1234567890123456789n, name: 'rekor', description: "Rekor's log – \"prd\" \\ ü", leaves: 40 },
  { id: 987654321098765432n, name: 'ctlog', description: 'CT log', leaves: 25 },
] as const;

const sha256 = (...parts: (string | Buffer)[]) => createHash('sha256').update(Buffer.concat(parts.map((part) => Buffer.from(part)))).digest();
const hex = (bytes: Buffer) => `X'${bytes.toString('hex')}'`;
const text = (value: string) => `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

/** Every byte value, rotated by `offset`: binary data a text-mode dump would corrupt. */
function allBytes(offset: number, length = 256): Buffer {
  return Buffer.from(Array.from({ length }, (_, index) => (index + offset) % 256));
}

/** The SQL that creates `database` and fills it (deterministic: the same rows on every run). */
export function trillianDatabaseSql(database: string): string {
  const statements = [`CREATE DATABASE ${database} CHARACTER SET utf8mb4;`, `USE ${database};`, SCHEMA];
  for (const [treeIndex, tree] of TREES.entries()) {
    const id = tree.id.toString();
    statements.push(
      `INSERT INTO Trees VALUES (${id}, 'ACTIVE', 'LOG', ${text(tree.name)}, ${text(tree.description)}, 1764547200000, ${hex(allBytes(treeIndex * 7))}, FALSE);`,
      `INSERT INTO TreeControl VALUES (${id}, TRUE, TRUE, 0);`,
    );
    const leaves: string[] = [];
    const sequenced: string[] = [];
    for (let leaf = 0; leaf < tree.leaves; leaf++) {
      const identity = sha256(id, String(leaf));
      leaves.push(`(${id}, ${hex(identity)}, ${hex(allBytes(leaf, 300))}, ${leaf % 3 === 0 ? 'NULL' : hex(sha256('extra', String(leaf)))}, ${1764547200000000000n + BigInt(leaf)})`);
      sequenced.push(`(${id}, ${leaf}, ${hex(identity)}, ${hex(sha256('\u0000', identity))}, ${1764547201000000000n + BigInt(leaf)})`);
    }
    statements.push(`INSERT INTO LeafData VALUES ${leaves.join(', ')};`, `INSERT INTO SequencedLeafData VALUES ${sequenced.join(', ')};`);
    const heads: string[] = [];
    for (let revision = 1; revision <= 5; revision++) {
      const size = Math.ceil((tree.leaves * revision) / 5);
      heads.push(`(${id}, ${1764547300000000000n + BigInt(revision)}, ${size}, ${hex(sha256(id, 'root', String(size)))}, ${hex(allBytes(revision, 72))}, ${revision})`);
    }
    statements.push(`INSERT INTO TreeHead VALUES ${heads.join(', ')};`);
    // One large tile (3072 hashes, 96 KiB; 192 KiB as hex in a dump): the dump is far bigger than a
    // pipe's buffer, so a reader that stops reading halts mysqldump halfway (the consistency test).
    const tile = Buffer.concat(Array.from({ length: 3072 }, (_, node) => sha256(id, 'node', String(node))));
    statements.push(`INSERT INTO Subtree VALUES (${id}, X'', ${hex(tile)}, 5), (${id}, X'00', ${hex(allBytes(39))}, 5), (${id}, X'0001', ${hex(allBytes(200))}, 6);`);
    statements.push(`INSERT INTO Unsequenced VALUES (${id}, 0, ${hex(sha256(id, 'queued'))}, ${hex(sha256('\u0000queued'))}, 1764547400000000000, ${hex(sha256('queue-id', id))});`);
  }
  return statements.join('\n');
}

/** What must survive a backup and restore: each table's definition, row count and CHECKSUM TABLE, and the latest tree heads. */
export interface DatabaseFingerprint {
  readonly tables: Record<string, { readonly rows: number; readonly checksum: string; readonly definition: string }>;
  readonly latestHeads: string;
}

export async function databaseFingerprint(server: MariaDbServer, database: string): Promise<DatabaseFingerprint> {
  const tables: Record<string, { rows: number; checksum: string; definition: string }> = {};
  for (const table of TRILLIAN_TABLES) {
    const [, checksum] = (await server.query(`CHECKSUM TABLE ${database}.${table} EXTENDED`)).trim().split('\t');
    const rows = Number((await server.query(`SELECT COUNT(*) FROM ${database}.${table}`)).trim());
    const definition = (await server.query(`SHOW CREATE TABLE ${database}.${table}`)).trim().split('\t')[1];
    tables[table] = { rows, checksum, definition };
  }
  const latestHeads = await server.query(
    `SELECT h.TreeId, h.TreeSize, HEX(h.RootHash), h.TreeRevision FROM ${database}.TreeHead h ` +
      `WHERE h.TreeHeadTimestamp = (SELECT MAX(TreeHeadTimestamp) FROM ${database}.TreeHead WHERE TreeId = h.TreeId) ORDER BY h.TreeId`,
  );
  return { tables, latestHeads };
}
