"""Claims about a server under load (``serving_tok_s``): answered by ``simlow.simulate_serving``.

A serving claim's configuration names the model, device, scheme (and KV scheme, stack) as
any claim does, the request lengths in ``workload`` (``prompt`` / ``gen``) and the load in
``serving`` (``simlow.claims.schema.Serving``: engine, clients or rate, requests). simlow's
value is the simulated output throughput (tokens/s over the run); a relative claim's is the
factor of two such runs. There is no hard bound: a server's throughput under load is set by
its batch, which its KV cache limits, so the roofline ceilings of one fixed batch do not
bound it; the verdict compares with the simulation alone.
"""

from __future__ import annotations

from simlow.claims.answers import Answer
from simlow.claims.relative import baseline_for
from simlow.claims.schema import Claim, Config
from simlow.claims.simulate import Simulated
from simlow.claims.text import claimed_text
from simlow.errors import SimlowError
from simlow.serving import simulate_serving
from simlow.serving.kv import KvCacheTooSmall
from simlow.specs import load_hw


def run(config: Config):
    """The ``ServingResult`` of ``config`` (raises ``KvCacheTooSmall`` when one request
    cannot be held)."""
    s, w = config.serving, config.workload
    return simulate_serving(config.model, load_hw(config.hw, config.memory), config.scheme, stack=config.stack,
                            engine=s.engine.value, concurrency=s.concurrency, rate=s.rate,
                            requests=s.requests, prompt_len=w.prompt, output_len=w.gen,
                            kv_scheme=config.kv_scheme, max_num_seqs=s.max_num_seqs)


def describe(r) -> str:
    """One line of what a run did: throughput, the batch it held, KV blocks, preemptions."""
    running = r.series["running"]
    mean = sum(running) / len(running) if running else 0.0
    return (f"{r.scheme} on {r.hw} ({r.stack}, {r.engine}): {r.throughput_output_tok_s:,.0f} output tok/s, "
            f"{mean:.0f} requests running on average (max_num_seqs {r.config['max_num_seqs']}), "
            f"{r.kv.get('blocks', 0):,} KV blocks, {r.preemptions} preemptions")


def _simulated(config: Config):
    try:
        return run(config), ""
    except KvCacheTooSmall as err:
        return None, f"the server cannot hold one request: {err}"
    except SimlowError as err:
        return None, f"simlow serving cannot run this configuration: {err}"


def answer(claim: Claim, config: Config) -> Answer:
    """simlow's answer for one configuration of a serving claim (absolute or relative)."""
    new, why = _simulated(config)
    if new is None:
        return Answer(None, "", Simulated(None, why), why)
    if not claim.relative:
        value = new.throughput_output_tok_s
        text = (f"claimed {claimed_text(claim.claimed, 'tok/s')}; simlow serving gives {value:,.0f} "
                f"output tok/s under this load")
        return Answer(None, "", Simulated(value, "simlow.simulate_serving"), text, (describe(new),))
    base_config = baseline_for(claim, config)
    old, why = _simulated(base_config)
    if old is None:
        return Answer(None, "", Simulated(None, f"baseline: {why}"), f"the baseline cannot be simulated: {why}")
    f = new.throughput_output_tok_s / old.throughput_output_tok_s
    text = (f"claimed {claimed_text(claim.claimed, 'x')}; simlow serving gives {f:.2f}x "
            f"({new.throughput_output_tok_s:,.0f} over {old.throughput_output_tok_s:,.0f} output tok/s "
            f"against {base_config.label()})")
    return Answer(None, "", Simulated(f, "simlow.simulate_serving, both configurations"), text,
                  (describe(new), f"baseline: {describe(old)}"))
