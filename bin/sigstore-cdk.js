#!/usr/bin/env node
// Launcher for the `sigstore-cdk` bin entry: runs the compiled CLI, bin/compiled/sigstore-cdk.js
// (built from bin/sigstore-cdk.ts by scripts/build.js; bin/launch.js rebuilds it when stale).
'use strict';
require('./launch').launch('sigstore-cdk');
