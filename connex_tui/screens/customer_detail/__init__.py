"""The customer screen: header strip, breadcrumb and one module per tab."""
