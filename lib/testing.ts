/** tfm-provision/testing: simulated devices and probes for users' own tests (the mock binding). */
export {};
