#!/bin/sh
# What the official image does with templates: every NGINX_ENVSUBST_TEMPLATE_DIR/**/*.template is rendered
# with envsubst into NGINX_ENVSUBST_OUTPUT_DIR, substituting only the defined variables whose names match
# NGINX_ENVSUBST_FILTER, so nginx's own $variables are left alone.
set -eu
template_dir=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
output_dir=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}
filter=${NGINX_ENVSUBST_FILTER:-}

[ -d "$template_dir" ] || exit 0
defined=$(env | cut -d= -f1 | grep -E "${filter:-.}" | sed 's/^/$/' | tr '\n' ' ')
find "$template_dir" -follow -type f -name "*$suffix" | while read -r template; do
    relative=${template#"$template_dir/"}
    output="$output_dir/${relative%"$suffix"}"
    mkdir -p "$(dirname "$output")"
    echo "$0: rendering $template to $output"
    envsubst "$defined" < "$template" > "$output"
done
