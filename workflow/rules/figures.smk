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
                f"results/figures/{figure_name}.png",
                caption=f"../report/{figure_name}.rst",
                category="Figures",
            ),
            pdf=f"results/figures/{figure_name}.pdf",
        log:
            f"results/logs/figures/{figure_name}.log",
        params:
            name=figure_name,
        localrule: True
        conda:
            "../../envs/cftrain.yaml"
        script:
            "../scripts/figure.py"
