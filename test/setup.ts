// @peculiar/x509 needs a Reflect polyfill before it is loaded (see reference/deps-and-style.md).
import 'reflect-metadata';
