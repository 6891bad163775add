# Raw files of the real datasets: fetched once into the cache and verified (cftrain.datasets.fetch).
# A local rule: cluster compute nodes often have no network, the login node does.
rule fetch_raw:
    output:
        f"{raw_cache}/{{raw_file}}",
    log:
        paths.log("fetch_raw", "{raw_file}"),
    localrule: True
    conda:
        "../../envs/cftrain.yaml"
    script:
        "../scripts/fetch_raw.py"


rule prepare_data:
    input:
        raw=lambda wc: sources.raw_input(config, wc.dataset),
    output:
        paths.DATA,
    log:
        paths.log("prepare_data", "{dataset}"),
    conda:
        "../../envs/cftrain.yaml"
    resources:
        mem_mb=grow(4000),
        runtime=grow(30),
    params:
        prepare=lambda wc: sources.data_params(config, wc.dataset),
    script:
        "../scripts/prepare_data.py"


# A synthetic dataset drawn with a replicate's data-generation seed (cftrain.experiments); the
# dataset at `data.seed` is the file of rule prepare_data.
rule prepare_data_seeded:
    input:
        raw=lambda wc: sources.raw_input(config, wc.dataset),
    output:
        paths.DATA_SEEDED,
    log:
        paths.log("prepare_data", "dataseed{data_seed}/{dataset}"),
    conda:
        "../../envs/cftrain.yaml"
    resources:
        mem_mb=grow(4000),
        runtime=grow(30),
    params:
        prepare=lambda wc: sources.data_params(config, wc.dataset, seed=wc.data_seed),
    script:
        "../scripts/prepare_data.py"
