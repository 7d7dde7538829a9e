#!/usr/bin/env node
// Launcher of the cdktf app (cdktf.json): runs bin/compiled/cloud.js, built from bin/cloud.ts, like
// bin/sigstore-cdk.js.
'use strict';
require('./launch').launch('cloud');
