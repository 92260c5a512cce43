# Certificates and kubeconfigs of the test cluster (sourced by cluster.sh).
# One CA signs every serving and client certificate; a second CA signs the front proxy's client
# certificate (the API server's identity towards aggregated APIs such as metrics-server), as
# Kubernetes requires. Identities follow the names Kubernetes' default RBAC grants rights to.
# shellcheck shell=bash

pki_dir="$CLUSTER_STATE/pki"

# issue <name> <subject> <signing CA name> [subjectAltName]
issue() {
  local name=$1 subject=$2 ca=$3 san=${4:-}
  local ext="$pki_dir/$name.ext"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ -n "$san" ]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$san"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } > "$ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$pki_dir/$name.key" -subj "$subject" \
    -out "$pki_dir/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki_dir/$name.csr" -CA "$pki_dir/$ca.crt" -CAkey "$pki_dir/$ca.key" \
    -CAcreateserial -days 30 -extfile "$ext" -out "$pki_dir/$name.crt" 2>/dev/null
  rm -f "$pki_dir/$name.csr" "$ext"
}

new_ca() {
  openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$pki_dir/$1.key" -days 30 \
    -subj "/CN=$2" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$pki_dir/$1.crt" 2>/dev/null
}

# kubeconfig <file> <client certificate name>
write_kubeconfig() {
  cat > "$1" <<YAML
apiVersion: v1
kind: Config
clusters:
  - name: catalog-test
    cluster:
      server: https://$NODE_IP:$APISERVER_PORT
      certificate-authority: $pki_dir/ca.crt
users:
  - name: $2
    user:
      client-certificate: $pki_dir/$2.crt
      client-key: $pki_dir/$2.key
contexts:
  - name: catalog-test
    context: { cluster: catalog-test, user: $2 }
current-context: catalog-test
YAML
}

make_pki() {
  [ -f "$pki_dir/.complete" ] && return
  rm -rf "$pki_dir"
  mkdir -p "$pki_dir"
  chmod 700 "$pki_dir"
  new_ca ca catalog-test-ca
  new_ca front-proxy-ca catalog-test-front-proxy-ca
  issue apiserver /CN=kube-apiserver ca \
    "IP:$NODE_IP,IP:$KUBERNETES_SERVICE_IP,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  issue apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" ca
  issue front-proxy-client /CN=front-proxy-client front-proxy-ca
  issue admin "/O=system:masters/CN=catalog-test-admin" ca
  issue controller-manager /CN=system:kube-controller-manager ca
  issue scheduler /CN=system:kube-scheduler ca
  issue kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" ca
  issue kubelet-serving "/CN=$NODE_NAME" ca "IP:$NODE_IP,DNS:$NODE_NAME"
  issue kube-proxy /CN=system:kube-proxy ca
  issue coredns /CN=catalog-test:coredns ca
  issue metrics-server /CN=catalog-test:metrics-server ca \
    "IP:$NODE_IP,DNS:metrics-server.kube-system.svc"
  openssl genrsa -out "$pki_dir/service-accounts.key" 2048 2>/dev/null
  openssl rsa -in "$pki_dir/service-accounts.key" -pubout -out "$pki_dir/service-accounts.pub" 2>/dev/null
  local who
  for who in admin controller-manager scheduler kubelet kube-proxy coredns metrics-server; do
    write_kubeconfig "$CLUSTER_STATE/$who.kubeconfig" "$who"
  done
  touch "$pki_dir/.complete"
}

# client_identity <name> <subject>: a client certificate of the cluster CA and its kubeconfig
# ($CLUSTER_STATE/<name>.kubeconfig), made once; also on a cluster whose PKI predates the name.
client_identity() {
  [ -f "$pki_dir/$1.crt" ] && [ -f "$CLUSTER_STATE/$1.kubeconfig" ] && return
  issue "$1" "$2" ca
  write_kubeconfig "$CLUSTER_STATE/$1.kubeconfig" "$1"
}
