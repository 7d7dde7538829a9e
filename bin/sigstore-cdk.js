#!/usr/bin/env node
// Launcher for the `sigstore-cdk` bin entry: runs the TypeScript CLI through tsx's CommonJS hook,
// so there is no build step and no stale compiled copy.
'use strict';
require('tsx/cjs/api').register();
require('./sigstore-cdk.ts');
