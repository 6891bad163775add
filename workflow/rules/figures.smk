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
