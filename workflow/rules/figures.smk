# Tables and figures (steps: cftrain.steps.figures, cftrain.plots). The tidy tables collect the
# per-run CSVs; the paper tables are built from them.
rule collect:
    input:
        lambda wc: wf.per_model(config, wc.collected),
    output:
        report(
            paths.named(paths.TABLE_CSV, "collected"),
            caption="../report/collected.rst",
            category="Tables",
            subcategory="Tidy per-run results",
        ),
    log:
        paths.log("tables", "{collected}"),
    localrule: True
    conda:
        "../../envs/cftrain.yaml"
    params:
        sources=lambda wc: wf.collected_sources(config, wc.collected),
    script:
        "../scripts/collect_csv.py"


rule table:
    input:
        lambda wc: wf.table_inputs(config, wc.table),
    output:
        csv=report(
            paths.named(paths.TABLE_CSV, "table"),
            caption="../report/table.rst",
            category="Tables",
            subcategory="Paper tables",
        ),
        tex=paths.named(paths.TABLE_TEX, "table"),
    log:
        paths.log("tables", "{table}"),
    localrule: True
    conda:
        "../../envs/cftrain.yaml"
    params:
        datasets=lambda wc: list(config["datasets"]),
    script:
        "../scripts/table.py"


# One rule per paper figure (file names are part of the interface); each reads only tables and
# HDF5 files, so `snakemake results/figures/<name>.png` re-renders it alone.
for figure_name in wf.FIGURES:

    rule:
        name:
            f"figure_{figure_name}"
        input:
            lambda wc, name=figure_name: wf.figure_inputs(config, name),
        output:
            png=report(
                paths.FIGURE_PNG.format(name=figure_name),
                caption=f"../report/{figure_name}.rst",
                category="Figures",
            ),
            pdf=paths.FIGURE_PDF.format(name=figure_name),
        log:
            paths.log("figures", figure_name),
        localrule: True
        conda:
            "../../envs/cftrain.yaml"
        params:
            name=figure_name,
        script:
            "../scripts/figure.py"
