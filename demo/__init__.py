"""Demo and test tooling, kept out of the product.

``demo.synth`` makes synthetic camera clips (for tests, benchmarks and the
demo); ``demo.sample`` builds the throwaway sample vault and runs
``ringfence demo``, which ``demo.commands`` plugs into the CLI through the
``ringfence.commands`` entry point. ``vault`` never imports this package.
"""
