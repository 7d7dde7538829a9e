#!/usr/bin/env node
// Launcher of the cdk8s app (cdk8s.yaml): runs bin/k8s.ts through tsx, like bin/sigstore-cdk.js.
'use strict';
require('tsx/cjs/api').register();
require('./k8s.ts');
