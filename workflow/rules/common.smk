# Config access and target lists only; the logic lives in cftrain.config / cftrain.workflow.
import cftrain.config as cfg
import cftrain.workflow as wf
import cftrain.evaluation.examples as ex


wildcard_constraints:
    experiment="|".join(config["experiments"]),
    dataset="|".join(config["datasets"]),
    objective=r"(vanilla|full|energy|adversarial)(-(generic|ecco|revise))?",
    seed=r"\d+",
    collected="|".join(wf.COLLECTED),
    table="|".join(wf.TABLES),
    kind="|".join(ex.KINDS),


def all_targets():
    return wf.all_targets(config)


def run_spec(wc):
    return cfg.run_spec_dict(config, wc.experiment, wc.dataset, wc.objective, wc.seed)


def eval_settings(wc):
    return cfg.evaluation_settings(config, wc.experiment, wc.dataset)


def vae_input(wc):
    if wf.needs_vae(config, wc.objective):
        return f"results/vae/{wc.dataset}.pt"
    return []
