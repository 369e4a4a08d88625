//! Client tests over real HTTP against the sandbox.
