/**
 * The certificate libraries only minting uses (@peculiar/x509 with tsyringe and reflect-metadata,
 * the @peculiar/asn1-* schemas, asn1js), bundled apart from the programs: scripts/build.js builds
 * this file to bin/compiled/mint-libraries.js, and in the programs' bundles an import of one of these
 * packages reads it from here (bin/launch.js `libraryBundle`: run once per process, with a V8 code
 * cache of its own). A command that mints nothing never reads, compiles or deserializes their code.
 *
 * Third-party code only: a module of lib/ here would be a second copy of it, with its own error
 * classes and secrets to redact (scripts/build.js refuses to build one).
 *
 * Each package is evaluated when it is first asked for: a KMS signer that re-encodes a signature
 * (the ASN.1 schemas) does not evaluate @peculiar/x509.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const libraries: Record<string, unknown> = {
  get 'reflect-metadata'() {
    return require('reflect-metadata');
  },
  get '@peculiar/asn1-schema'() {
    return require('@peculiar/asn1-schema');
  },
  get '@peculiar/asn1-x509'() {
    return require('@peculiar/asn1-x509');
  },
  get '@peculiar/asn1-ecc'() {
    return require('@peculiar/asn1-ecc');
  },
  get '@peculiar/x509'() {
    // tsyringe (inside @peculiar/x509) needs the Reflect metadata API when it is evaluated
    require('reflect-metadata');
    return require('@peculiar/x509');
  },
};

export = libraries;
